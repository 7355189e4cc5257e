"""Watch lists and alerts (issue 9): the four rules, idempotency, per-recipient generalization, e-mail through
a local SMTP server, marking read. Records are SIMULATED near the real China-Russia border (Land of the Leopard
/ Hunchun); distances to the border come from the shipped Natural Earth country polygons."""

from __future__ import annotations

import csv
import socket
import threading
from pathlib import Path

import pytest

from econet.errors import EconetError

OWNER, PARTNER, OTHER = "Land of the Leopard NP", "Hunchun Tiger-Leopard NR", "Altai Alliance Institute"
LEOPARD, MUSKRAT = "Panthera pardus orientalis", "Ondatra zibethicus"
MAPPING = """record_type: observation
columns: {id: occurrence_id, species: scientific_name, date: time, lon: lon, lat: lat, country: country_code,
          locality: locality, n: count, animal: individual}
"""
#: (lon, lat): RU 1.2 km from the CN-RU border; RU about 10 km from it; CN about 15 km from it
NEAR_BORDER, RU_10KM, CN_SIDE = (131.1, 43.0), (131.2, 42.9), (130.9, 43.0)
DEN = (131.3127, 43.2381)


def _csv(path: Path, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "species", "date", "lon", "lat", "country", "locality", "n", "animal"])
        w.writerows(rows)
    return path


@pytest.fixture
def hub(db_url, tmp_path):
    """Owner (RU) shares its dataset with the partner (CN); the leopard is sensitive (0.1 degree) in RU."""
    from econet.hub import accounts, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    engine = open_hub(db_url)
    (tmp_path / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    import_path(engine, _csv(tmp_path / "seed.csv", [("s1", "Capreolus pygargus", "2023-01-01", 131.4, 43.5, "RU",
                                                       "", 1, "")]),
                dataset="cams", org=OWNER, country="RU", fmt="csv", mapping=tmp_path / "mapping.yaml")
    with engine.begin() as conn:
        accounts.add_org(conn, PARTNER, country="CN")
        accounts.add_org(conn, OTHER, country="MN")
        for user, org, email in (("owner", OWNER, "owner@lotl.example"), ("partner", PARTNER, "partner@hunchun.example"),
                                 ("other", OTHER, "other@altai.example")):
            accounts.add_user(conn, user, None, email=email)  # no password: argon2 is slow by design
            accounts.set_role(conn, user, org, "data_manager")
        sharing.set_sharing(conn, "cams", visibility="partners", partners=[PARTNER])
        sharing.set_sensitive(conn, LEOPARD, "RU", "0.1")
        sharing.set_sensitive(conn, "Panthera tigris altaica", "RU", "withheld")
    n = [0]

    def load(rows):
        n[0] += 1
        rows = [(f"r{n[0]}-{i}", *r) for i, r in enumerate(rows)]
        return import_path(engine, _csv(tmp_path / f"batch{n[0]}.csv", rows), dataset="cams", org=OWNER, fmt="csv",
                           mapping=tmp_path / "mapping.yaml")
    return {"engine": engine, "load": load, "tmp": tmp_path}


def _watch(engine, org, kind, name, **kw):
    from econet.hub import alerts
    from econet.hub.sharing import View
    with engine.begin() as conn:
        return alerts.add_item(conn, View.admin(), org, kind, name, **kw)


def _alerts(engine, user, **kw):
    from econet.hub import alerts
    from econet.hub.sharing import View
    with engine.connect() as conn:
        return alerts.list_alerts(conn, View.for_user(conn, user), **kw)


def test_invasive_species_near_the_border_alerts_the_watching_organization(hub):
    engine = hub["engine"]
    _watch(engine, PARTNER, "invasive", MUSKRAT, risk_category="high", distance_m=5000)
    _watch(engine, PARTNER, "area", "CN-RU border strip 3 km", area_kind="border", border="RU-CN", width_m=3000)
    report = hub["load"]([(MUSKRAT, "2022-05-14", *NEAR_BORDER, "RU", "", 2, ""),
                          (MUSKRAT, "2022-05-15", 131.9, 43.9, "RU", "", 1, ""),  # ~70 km from the border
                          ("Sus scrofa", "2022-05-15", *NEAR_BORDER, "RU", "", 1, "")])  # not listed
    assert report["alerts"]["new"] == 1
    got = _alerts(engine, "partner")
    assert [a["rule"] for a in got] == ["invasive_near_area"]
    a = got[0]
    assert (a["record"]["lon"], a["record"]["lat"]) == NEAR_BORDER and a["generalized"] is False
    assert a["details"]["risk_category"] == "high" and a["details"]["area"] == "CN-RU border strip 3 km"
    assert a["details"]["distance_m"] == 0.0  # inside the 3 km strip (1.2 km from the border line)
    assert "inside watched area" in a["title"] and MUSKRAT in a["title"]
    assert _alerts(engine, "owner") == [] and _alerts(engine, "other") == []  # they watch nothing


def test_invasive_distance_to_a_corridor_polygon(hub):
    engine = hub["engine"]
    corridor = "POLYGON ((131.30 43.30, 131.40 43.30, 131.40 43.40, 131.30 43.40, 131.30 43.30))"
    _watch(engine, OWNER, "area", "Barsovy corridor", area_kind="corridor", geometry=corridor)
    _watch(engine, OWNER, "invasive", MUSKRAT, distance_m=2000)
    # 0.02 degree east of the corridor at 43.35 N: about 1.6 km (alert); 0.05 degree: about 4 km (none)
    hub["load"]([(MUSKRAT, "2022-06-01", 131.42, 43.35, "RU", "", 1, ""),
                 (MUSKRAT, "2022-06-01", 131.45, 43.35, "RU", "", 1, "")])
    got = _alerts(engine, "owner")
    assert len(got) == 1 and got[0]["record"]["lon"] == 131.42
    assert 1400 < got[0]["details"]["distance_m"] < 1800
    with pytest.raises(EconetError, match="polygon"):
        _watch(engine, OWNER, "area", "bad", area_kind="corridor", geometry="POINT (1 2)")


def test_a_protected_area_by_name_is_its_published_area_around_its_published_point(hub):
    engine = hub["engine"]
    item = _watch(engine, PARTNER, "area", "hunchun national nature reserve", area_kind="pa")
    assert item["name"] == "Hunchun National Nature Reserve" and "approximate circle" in item["note"]
    _watch(engine, PARTNER, "invasive", MUSKRAT, distance_m=0)
    # PA facts: 42.833 N, 130.733 E, 1,087 km2 -> a circle of radius 18.6 km; 10 km and 30 km east of its point
    hub["load"]([(MUSKRAT, "2022-07-01", 130.855, 42.833, "CN", "", 1, ""),
                 (MUSKRAT, "2022-07-01", 131.100, 42.833, "CN", "", 1, "")])
    got = _alerts(engine, "partner")
    assert [a["record"]["lon"] for a in got] == [130.855] and got[0]["details"]["area_kind"] == "pa"
    with pytest.raises(EconetError, match="give its polygon"):
        _watch(engine, PARTNER, "area", "Kanas Nature Reserve", area_kind="pa")  # no published point


def test_sensitive_species_at_a_new_site_only(hub):
    engine = hub["engine"]
    _watch(engine, OWNER, "sensitive", LEOPARD, distance_m=1000)
    hub["load"]([(LEOPARD, "2023-02-01", *DEN, "RU", "den", 1, "")])
    hub["load"]([(LEOPARD, "2023-02-05", DEN[0] + 0.002, DEN[1], "RU", "", 1, ""),  # ~160 m away: same site
                 (LEOPARD, "2023-02-06", DEN[0] + 0.1, DEN[1], "RU", "", 1, "")])   # ~8 km away: new site
    got = sorted(_alerts(engine, "owner"), key=lambda a: a["record"]["hub_id"])
    assert [a["rule"] for a in got] == ["sensitive_new_site"] * 2
    assert [a["record"]["lon"] for a in got] == [DEN[0], round(DEN[0] + 0.1, 4)]


def test_identified_individual_crossing_the_border(hub):
    engine = hub["engine"]
    _watch(engine, OWNER, "sensitive", LEOPARD, distance_m=1000)
    hub["load"]([(LEOPARD, "2023-03-01", *RU_10KM, "RU", "", 1, "PPO-1")])
    report = hub["load"]([(LEOPARD, "2023-03-09", *CN_SIDE, "CN", "", 1, "PPO-1")])
    crossing = [a for a in _alerts(engine, "owner") if a["rule"] == "border_crossing"]
    assert len(crossing) == 1 and report["alerts"]["new"] >= 1
    a = crossing[0]
    assert (a["details"]["from"], a["details"]["to"], a["details"]["individual"]) == ("RU", "CN", "PPO-1")
    assert (a["previous_record"]["lon"], a["record"]["lon"]) == (RU_10KM[0], CN_SIDE[0])
    assert "crossed the border RU → CN" in a["title"]


def test_crossing_of_an_animal_known_to_two_partners_under_their_own_keys(hub, tmp_path):
    from sqlalchemy import select, update
    from econet.hub import models as m
    from econet.hub.ingest import import_path
    engine = hub["engine"]
    _watch(engine, PARTNER, "sensitive", LEOPARD, distance_m=1000)
    hub["load"]([(LEOPARD, "2023-03-01", *RU_10KM, "RU", "", 1, "PPO-1")])  # the owner's key
    import_path(engine, _csv(tmp_path / "cn.csv", [("cn-1", LEOPARD, "2023-01-05", *CN_SIDE, "CN", "", 1, "HC-7")]),
                dataset="cn-cams", org=PARTNER, fmt="csv", mapping=hub["tmp"] / "mapping.yaml")
    with engine.begin() as conn:  # the partners agree that HC-7 is PPO-1
        ids = dict(conn.execute(select(m.Individual.individual_key, m.Individual.id)).all())
        conn.execute(update(m.Individual).where(m.Individual.id == ids["HC-7"]).values(identity_id=ids["PPO-1"]))
    hub["load"]([(LEOPARD, "2023-03-20", *RU_10KM, "RU", "", 1, "PPO-1")])  # seen again in Russia: no crossing
    assert not [a for a in _alerts(engine, "partner") if a["rule"] == "border_crossing"]
    from econet.hub import alerts
    with engine.begin() as conn:
        alerts.run_all(conn)  # the January record in China now belongs to PPO-1: CN (January) -> RU (March)
    got = [a for a in _alerts(engine, "partner") if a["rule"] == "border_crossing"]
    assert [(a["details"]["from"], a["details"]["to"], a["details"]["individual"]) for a in got] == [
        ("CN", "RU", "HC-7 = PPO-1")]


def test_failed_import_alerts_the_owner_once(hub):
    engine = hub["engine"]
    bad = [(MUSKRAT, "2022-05-14", 131.1, 143.0, "RU", "", 1, "")]
    for _ in range(2):
        with pytest.raises(EconetError, match="out of range"):
            hub["load"](bad)
    # same file name and error each time? the file names differ (batch1, batch2): two alerts, one each
    got = [a for a in _alerts(engine, "owner") if a["rule"] == "import_failed"]
    assert len(got) == 2 and all("out of range" in a["details"]["error"] for a in got)
    assert _alerts(engine, "partner") == []  # only the importing organization hears of it
    from econet.hub import alerts
    alerts.on_import_failed(engine, org=OWNER, dataset="cams", source=str(hub["tmp"] / "batch1.csv"),
                            error=EconetError("coordinate out of range (131.1, 143.0): expected WGS84 degrees "
                                              "(set `crs` in the mapping for projected coordinates)", row=2))
    assert len([a for a in _alerts(engine, "owner") if a["rule"] == "import_failed"]) == 2  # same failure: no repeat


def test_rules_are_idempotent(hub):
    from econet.hub import alerts
    engine = hub["engine"]
    _watch(engine, OWNER, "sensitive", LEOPARD)
    _watch(engine, PARTNER, "sensitive", LEOPARD)
    hub["load"]([(LEOPARD, "2023-02-01", *DEN, "RU", "den", 1, "PPO-2"),
                 (LEOPARD, "2023-02-09", *CN_SIDE, "CN", "", 1, "PPO-2")])
    with engine.begin() as conn:
        before = alerts.summary(conn)
        assert alerts.run_all(conn) == [] and alerts.run_all(conn) == []
        assert alerts.summary(conn) == before
    counts = {(r["organization"], r["rule"]): r["alerts"] for r in before}
    for org in (OWNER, PARTNER):  # two new sites and one crossing each
        assert counts[(org, "sensitive_new_site")] == 2 and counts[(org, "border_crossing")] == 1
    from econet.hub.ingest import import_path  # a re-import of the same rows adds nothing and alerts nothing
    r = import_path(engine, hub["tmp"] / "batch1.csv", dataset="cams", org=OWNER, fmt="csv",
                    mapping=hub["tmp"] / "mapping.yaml")
    assert r["batch"] is None and "alerts" not in r
    with engine.connect() as conn:
        assert alerts.summary(conn) == before


def test_each_recipient_gets_its_own_view_of_a_sensitive_record(hub):
    from econet.hub import sharing
    engine = hub["engine"]
    for org in (OWNER, PARTNER, OTHER):
        _watch(engine, org, "sensitive", LEOPARD)
        _watch(engine, org, "sensitive", "Panthera tigris altaica")
    hub["load"]([(LEOPARD, "2023-02-01", *DEN, "RU", "Den under the cedar", 1, ""),
                 ("Panthera tigris altaica", "2023-02-02", 131.45, 43.45, "RU", "kill site", 1, "")])
    owner, partner = _alerts(engine, "owner"), _alerts(engine, "partner")
    assert {a["record"]["accepted_name"] for a in owner} == {LEOPARD, "Panthera tigris altaica"}
    o = next(a for a in owner if a["record"]["accepted_name"] == LEOPARD)
    assert (o["record"]["lon"], o["record"]["lat"], o["record"]["locality"]) == (*DEN, "Den under the cedar")
    assert [a["record"]["accepted_name"] for a in partner] == [LEOPARD]  # the withheld tiger: nothing at all
    p = partner[0]
    assert (p["record"]["lon"], p["record"]["lat"]) == (131.3, 43.2) and p["record"]["locality"] is None
    assert p["generalized"] is True and "0.1 degree" in p["record"]["data_generalizations"]
    assert _alerts(engine, "other") == []  # cannot see the dataset: no alert
    with engine.begin() as conn:  # the owner withdraws the partner's access: the partner's alert disappears
        sharing.set_sharing(conn, "cams", visibility="owner", partners=[])
    assert _alerts(engine, "partner") == []


def test_mark_read(hub):
    from econet.hub import alerts
    from econet.hub.sharing import View
    engine = hub["engine"]
    _watch(engine, OWNER, "sensitive", LEOPARD)
    hub["load"]([(LEOPARD, "2023-02-01", *DEN, "RU", "", 1, ""), (LEOPARD, "2023-02-01", 131.0, 43.6, "RU", "", 1, "")])
    got = _alerts(engine, "owner")
    assert len(got) == 2 and not any(a["read"] for a in got)
    with engine.begin() as conn:
        view = View.for_user(conn, "owner")
        assert alerts.mark_read(conn, view, [got[0]["id"]]) == {"marked_read": 1}
        with pytest.raises(EconetError, match="no alert"):
            alerts.mark_read(conn, View.for_user(conn, "partner"), [got[1]["id"]])
    assert [a["id"] for a in _alerts(engine, "owner", unread=True)] == [got[1]["id"]]


def test_watch_lists_are_kept_by_data_managers(hub):
    from econet.hub import accounts, alerts
    from econet.hub.sharing import View
    engine = hub["engine"]
    with engine.begin() as conn:
        accounts.add_user(conn, "viewer", None)
        accounts.set_role(conn, "viewer", OWNER, "viewer")
        with pytest.raises(EconetError, match="data managers"):
            alerts.add_item(conn, View.for_user(conn, "viewer"), OWNER, "sensitive", LEOPARD)
        with pytest.raises(EconetError, match="data managers"):
            alerts.add_item(conn, View.for_user(conn, "partner"), OWNER, "sensitive", LEOPARD)
        alerts.add_item(conn, View.for_user(conn, "owner"), OWNER, "sensitive", LEOPARD)
        assert [i["name"] for i in alerts.list_items(conn, View.for_user(conn, "viewer"), OWNER)] == [LEOPARD]
        with pytest.raises(EconetError, match="members"):
            alerts.list_items(conn, View.for_user(conn, "partner"), OWNER)
        with pytest.raises(EconetError, match="did you mean"):
            alerts.add_item(conn, View.admin(), OWNER, "invasive", "Panthera pardus orientalys")
        with pytest.raises(EconetError, match="two countries"):
            alerts.add_item(conn, View.admin(), OWNER, "area", "x", area_kind="border", border="RU", width_m=10)
        actions = [a for a in conn.exec_driver_sql("SELECT action, actor FROM audit_log").all()
                   if a[0].startswith("watch.")]
    assert ("watch.add", "owner") in actions


# --------------------------------------------------------------------------- e-mail through a local SMTP server

class LocalSmtp:
    """A minimal SMTP server on 127.0.0.1 (one thread): records each message's recipients and text."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.messages: list[dict] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as rf:
                def say(line):
                    conn.sendall(line.encode() + b"\r\n")
                say("220 localhost test SMTP")
                rcpt, data = [], None
                while True:
                    line = rf.readline()
                    if not line:
                        break
                    cmd = line.decode("utf-8", "replace").strip()
                    up = cmd.upper()
                    if data is not None:
                        if cmd == ".":
                            self.messages.append({"to": rcpt, "text": b"".join(data).decode("utf-8", "replace")})
                            rcpt, data = [], None
                            say("250 OK")
                        else:
                            data.append(line[1:] if line.startswith(b"..") else line)
                    elif up.startswith("EHLO") or up.startswith("HELO"):
                        say("250 localhost")
                    elif up.startswith("MAIL FROM"):
                        say("250 OK")
                    elif up.startswith("RCPT TO"):
                        rcpt.append(cmd.split(":", 1)[1].strip(" <>"))
                        say("250 OK")
                    elif up == "DATA":
                        data = []
                        say("354 end with .")
                    elif up == "QUIT":
                        say("221 bye")
                        break
                    else:
                        say("250 OK")

    def close(self):
        self.sock.close()


@pytest.fixture
def smtp_server():
    server = LocalSmtp()
    yield server
    server.close()


def test_alerts_are_emailed_with_each_recipients_view(hub, smtp_server):
    from econet.hub import alerts, notify
    engine = hub["engine"]
    with engine.begin() as conn:
        notify.set_smtp(conn, host="127.0.0.1", port=smtp_server.port, sender="alerts@econet.example")
    _watch(engine, OWNER, "sensitive", LEOPARD)
    _watch(engine, PARTNER, "sensitive", LEOPARD)
    report = hub["load"]([(LEOPARD, "2023-02-01", *DEN, "RU", "Den under the cedar", 1, "")])
    assert report["alerts"]["emails_sent"] == 2 and report["alerts"]["emails_failed"] == 0
    by = {m["to"][0]: m["text"] for m in smtp_server.messages}
    assert set(by) == {"owner@lotl.example", "partner@hunchun.example"}
    assert f"{DEN[1]}, {DEN[0]}" in by["owner@lotl.example"] and "Den under the cedar" in by["owner@lotl.example"]
    partner = by["partner@hunchun.example"]
    assert "43.2, 131.3" in partner and "0.1 degree" in partner
    assert str(DEN[0]) not in partner and str(DEN[1]) not in partner and "cedar" not in partner
    assert "Subject: [econet] Sensitive Panthera pardus orientalis" in partner
    assert alerts.deliver(engine) == {"emails_sent": 0, "emails_failed": 0}  # nobody gets an alert twice


def test_unreachable_smtp_server_fails_cleanly(hub):
    from econet.hub import notify
    engine = hub["engine"]
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with engine.begin() as conn:
        notify.set_smtp(conn, host="127.0.0.1", port=port)
        with pytest.raises(EconetError, match="e-mail address"):
            notify.set_smtp(conn, host="127.0.0.1", sender="not an address")
    _watch(engine, OWNER, "sensitive", LEOPARD)
    report = hub["load"]([(LEOPARD, "2023-02-01", *DEN, "RU", "", 1, "")])
    assert report["alerts"]["new"] == 1 and report["alerts"]["emails_failed"] == 1
    assert "cannot reach SMTP server" in report["alerts"]["email_error"]
    assert len(_alerts(engine, "owner")) == 1  # the alert is still in the atlas
