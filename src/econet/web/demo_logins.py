"""The demo's sign-ins for `econet demo --serve`: the two partner accounts demo step 35 creates get a known
password, so the atlas shows the same sensitive records exactly to their owner and generalized to the partner."""

from __future__ import annotations

#: The demo password of both accounts (demo database only: never a real hub).
DEMO_PASSWORD = "econet-demo"
#: username -> (organization, role) as demo step 35 (econet.demo.steps.35_sharing) creates them.
DEMO_USERS = {
    "lotl-data-manager": ("Land of the Leopard NP (demo)", "data manager: owner of the leopard records (exact)"),
    "hunchun-analyst": ("Hunchun Tiger-Leopard NR (demo)", "viewer: named partner (leopard records generalized)"),
}


def set_demo_passwords(db_url: str) -> list[dict]:
    """Give the demo's accounts the demo password; returns the logins to print (those that exist)."""
    from sqlalchemy import select

    from econet.hub import accounts, models as m
    from econet.hub.db import open_hub
    engine = open_hub(db_url)
    out = []
    with engine.begin() as conn:
        for name, (org, role) in DEMO_USERS.items():
            if conn.execute(select(m.User.id).where(m.User.username == name)).scalar() is None:
                continue
            accounts.set_password(conn, name, DEMO_PASSWORD)
            out.append({"username": name, "password": DEMO_PASSWORD, "organization": org, "role": role})
    return out
