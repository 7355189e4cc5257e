"""`econet tracks|waterbirds|rings|glaciers ... --db URL --as USER`: the hub analyses on a user's view from the
command line (on the sample hub of econet.hub.sharing_sample), and a Movebank import into the hub."""

from __future__ import annotations

import pandas as pd
import pytest

from econet.hub import sharing_sample as S


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from econet.hub.db import dispose_all
    folder = tmp_path_factory.mktemp("cli")
    db = f"sqlite:///{folder / 'hub.db'}"
    S.build(db, folder)
    yield db, folder
    dispose_all()


def run(capsys, *args):
    from econet.cli.main import main
    with pytest.raises(SystemExit) as e:
        main([*map(str, args)])
    out = capsys.readouterr()
    return e.value.code, out.out + out.err


def test_tracks_crossings_and_homerange_on_a_view(hub, tmp_path, capsys):
    db, _ = hub
    code, text = run(capsys, "tracks", "crossings", "--db", db, "--as", "owner_viewer", "--countries", "CN-RU",
                     "--out", tmp_path / "own", "--format", "json")
    assert code in (0, None), text
    assert "computed on the view of user owner_viewer" in text
    own = pd.read_csv(tmp_path / "own" / "crossings.csv")
    assert len(own) == 1 and own["lon_before"].iloc[0] == 131.13  # the exact fix before the crossing
    code, text = run(capsys, "tracks", "crossings", "--db", db, "--as", "alliance_viewer", "--countries", "CN-RU",
                     "--out", tmp_path / "alliance")
    assert code in (0, None), text
    assert "input generalized by the sharing rules" in text
    pub = pd.read_csv(tmp_path / "alliance" / "crossings.csv")
    assert pub["lon_before"].iloc[0] == 131.1  # the same fix on the 0.1 degree grid
    code, text = run(capsys, "tracks", "homerange", "--db", db, "--as", "owner_viewer", "--method", "mcp",
                     "--percent", "100", "--out", tmp_path / "hr.gpkg")
    assert code == 2 and "at least 5 usable fixes" in text  # 3 fixes per animal: an honest refusal
    assert not (tmp_path / "hr.gpkg").exists()


def test_tracks_import_into_the_hub(hub, tmp_path, capsys):
    from econet.analytics import tracksim
    db, _ = hub
    f = tracksim.simulate_tracks(2, 50, seed=3)
    path = tmp_path / "mb.csv"
    tracksim.to_movebank(f).to_csv(path, index=False)
    code, text = run(capsys, "tracks", "import", path, "--db", db, "--dataset", "cli-collars", "--org", S.OWNER,
                     "--format", "json")
    assert code in (0, None), text
    assert '"added fixes": 100' in text
    code, text = run(capsys, "tracks", "import", path, "--db", db, "--dataset", "cli-collars")
    assert code == 2 and "--org" in text


def test_bird_ring_glacier_commands_on_a_view(hub, tmp_path, capsys):
    db, _ = hub
    code, text = run(capsys, "waterbirds", "sites", "--db", db, "--as", "partner_viewer", "--out", tmp_path / "wb",
                     "--format", "json")
    assert code in (0, None), text
    ranked = pd.read_csv(tmp_path / "wb" / "sites_ranked.csv")
    assert list(ranked["site_id"]) == ["cell 131.2,43.3"] and "partner_viewer" in text
    code, text = run(capsys, "rings", "link", "--db", db, "--as", "owner_viewer", "--format", "json")
    assert code in (0, None) and "1 records" in text  # one encounter: no movement
    code, text = run(capsys, "glaciers", "trends", "--db", db, "--as", "owner_viewer", "--out", tmp_path / "gl",
                     "--format", "json")
    assert code in (0, None), text
    assert pd.read_csv(tmp_path / "gl" / "glacier_trends.csv")["wgms_id"].tolist() == [990001]
    code, text = run(capsys, "glaciers", "trends", "--db", db, "--as", "partner_viewer", "--out", tmp_path / "gl2")
    assert code == 2 and not (tmp_path / "gl2").exists()
