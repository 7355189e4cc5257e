"""Hub options shared by the population analyses (scr, occupancy, genetics, crossings, activity rai).

`--db` switches a command from files to the hub; it has no environment default here, so a file-based run
never turns into a hub run because ECONET_DB is set.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

HubDb = Annotated[Optional[str], typer.Option("--db", help="Run on the hub at this database URL instead of "
                                              "files (sharing rules applied for --as).", show_default=False)]
AsUser = Annotated[Optional[str], typer.Option("--as", "--as-user", help="With --db: run on what this hub user "
                                               "may see (default: the database operator, exact data).")]
Taxon = Annotated[Optional[str], typer.Option("--taxon", help="With --db: taxon (synonyms and lower ranks "
                                              "included).")]
Dataset = Annotated[Optional[str], typer.Option("--dataset", help="With --db: dataset name.")]
Start = Annotated[Optional[str], typer.Option("--start", help="With --db: from this date/time (UTC).")]
End = Annotated[Optional[str], typer.Option("--end", help="With --db: until this date/time (UTC).")]
Country = Annotated[Optional[str], typer.Option("--country", help="With --db: ISO alpha-2 country of the records.")]


def hub_run(db: str, as_user: str | None, fn, *, taxon=None, dataset=None, start=None, end=None, country=None,
            **kwargs) -> dict:
    """Run a hub.population analysis for the CLI caller's view; audited; JSON-ready result."""
    from econet.hub import population, sharing
    from econet.hub.db import open_hub
    from econet.hub.query import ObservationFilter
    engine = open_hub(db)
    with engine.connect() as conn:
        view = sharing.View.for_user(conn, as_user) if as_user else sharing.View.admin("database operator")
        if fn is population.run_genetics:
            result = fn(conn, view, dataset=dataset, taxon=taxon, **kwargs)
        else:
            f = ObservationFilter(taxon=taxon, dataset=dataset, start=start, end=end, country=country)
            result = fn(conn, view, f, **kwargs)
    with engine.begin() as conn:
        sharing.audit(conn, view, "analysis", f"cli:{result['kind']}",
                      {"kind": result["kind"], "dataset": dataset, "taxon": taxon})
    return population.jsonable(result)


def say_input(result: dict) -> None:
    """One line: which view the analysis used and whether its input was generalized."""
    from econet.cli.console import say
    i = result["input"]
    v = i["view"]
    who = v["kind"] if not v.get("user") else f"{v['kind']} {v['user']}"
    say(f"computed on the view of {who}: {i.get('records', 0)} records"
        + (f", locations generalized to {i['coordinate_precision_deg']} degree" if i.get("generalized") else
           ", exact locations"))
    if result.get("warning"):
        say(f"warning: {result['warning']}")
