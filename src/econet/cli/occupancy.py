"""`econet occupancy`: single-season occupancy fits (as unmarked's occu) and detection histories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli._hubopts import AsUser, Dataset, End, HubDb, Start, Taxon
from econet.cli.options import Debug, Format, OutputFormat, Quiet, apply

occupancy_app = typer.Typer(help="Site occupancy corrected for imperfect detection (MacKenzie et al. 2002).",
                            no_args_is_help=True)


@occupancy_app.command("fit")
def fit(
    detections: Annotated[Optional[Path], typer.Option("--detections", help="Detection histories: unmarked's "
                                                       "long CSV (site, visit, observation, covariates) or wide CSV "
                                                       "(site, y.1..y.K, covariates, x.1..x.K).")] = None,
    psi: Annotated[str, typer.Option("--psi", help="Occupancy formula on site covariates, e.g. '~1' or '~elev'.")] = "~1",
    p: Annotated[str, typer.Option("--p", help="Detection formula, e.g. '~MinAfterSunset+Temperature'.")] = "~1",
    scale_covariates: Annotated[bool, typer.Option("--scale-covariates",
                                                   help="Standardise every covariate (mean 0, SD 1) as R's scale().")] = False,
    form: Annotated[str, typer.Option("--form", help="CSV form: long, wide or auto (wide if y.1 exists).")] = "auto",
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write a PNG of psi and p against each "
                                                 "numeric covariate (others at their mean).")] = None,
    db: HubDb = None,
    as_user: AsUser = None,
    taxon: Taxon = None,
    dataset: Dataset = None,
    start: Start = None,
    end: End = None,
    occasion_days: Annotated[float, typer.Option("--occasion-days", help="With --db: occasion length in days "
                                                 "for the detection histories of the hub's deployments.")] = 7.0,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Fit psi(covariates) p(covariates); print psi and p at covariates 0, coefficients, logLik and AIC."""
    apply(quiet, debug)
    from econet.analytics.occupancy import fit_occupancy, read_occupancy_csv
    from econet.cli.console import emit, say
    from econet.errors import EconetError

    if db is not None:
        from econet.cli._hubopts import hub_run, say_input
        from econet.hub import population
        res = hub_run(db, as_user, population.run_occupancy, taxon=taxon, dataset=dataset, start=start, end=end,
                      occasion_days=occasion_days, psi=psi, p=p)
        if fmt != OutputFormat.json:
            say_input(res)
        out = res["fit"] if fmt != OutputFormat.json else res
    elif detections is None:
        raise EconetError("give --detections CSV (or --db URL to run on the hub)", field="detections")
    else:
        data = read_occupancy_csv(detections, form=form)
        result = fit_occupancy(data, psi=psi, p=p, scale_covariates=scale_covariates)
        if plot is not None:
            _plot(result, data, plot)
            say(f"plot written to {plot}")
        out = result.as_dict()
    if fmt == OutputFormat.json:
        emit(out, fmt)
        return
    rows = []
    for key in ("psi", "p"):
        if out[key]:
            rows.append({"parameter": f"{key} (real, covariates 0)", "estimate": out[key]["estimate"],
                         "se": out[key]["se"], "lcl": out[key]["lcl"], "ucl": out[key]["ucl"]})
    for c in out["coefficients"]:
        rows.append({"parameter": f"{c['submodel']}: {c['name']} (logit)", "estimate": c["estimate"],
                     "se": c["se"], "lcl": c["estimate"] - 1.959964 * c["se"],
                     "ucl": c["estimate"] + 1.959964 * c["se"]})
    rows.append({"parameter": "logLik", "estimate": out["loglik"], "se": None, "lcl": None, "ucl": None})
    rows.append({"parameter": "AIC", "estimate": out["aic"], "se": None, "lcl": None, "ucl": None})
    emit(rows, fmt, title=f"occupancy psi{psi} p{p} ({out['n_sites']} sites)")


@occupancy_app.command("history")
def history(
    deployments: Annotated[Path, typer.Option("--deployments", help="CSV with site, start, end per camera deployment.")],
    detections: Annotated[Path, typer.Option("--detections", help="CSV with site, timestamp per detection.")],
    occasion_days: Annotated[float, typer.Option("--occasion-days", help="Occasion length in days.")] = 7.0,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the wide CSV (y.1..y.K) here.")] = None,
    site: Annotated[str, typer.Option("--site-column")] = "site",
    start: Annotated[str, typer.Option("--start-column")] = "start",
    end: Annotated[str, typer.Option("--end-column")] = "end",
    timestamp: Annotated[str, typer.Option("--timestamp-column")] = "timestamp",
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Build detection histories (1, 0, NA = not surveyed) from camera deployments and detections."""
    apply(quiet, debug)
    import pandas as pd

    from econet.analytics.occupancy import detection_history, history_to_wide
    from econet.atomic import atomic_path
    from econet.cli.console import emit
    from econet.errors import EconetError

    frames = []
    for path in (deployments, detections):
        if not path.is_file():
            raise EconetError("file not found", path=path)
        try:
            frames.append(pd.read_csv(path))
        except Exception as exc:
            raise EconetError(f"cannot read CSV: {exc}", path=path) from None
    hist, _effort = detection_history(frames[0], frames[1], occasion_days, site=site, start=start, end=end,
                                      timestamp=timestamp)
    wide = history_to_wide(hist)
    if output is not None:
        with atomic_path(output) as tmp:
            wide.to_csv(tmp, index=False, na_rep="NA")
    emit(wide.where(wide.notna(), None).to_dict(orient="records"), fmt, title="detection histories")


def _plot(fit, data, path: Path) -> None:
    """Predicted psi and p (with 95% CI) over the observed range of each numeric covariate."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from econet.analytics.occupancy import _obs_variables, _site_variables, _var_of, parse_formula
    from econet.atomic import atomic_path

    panels = []
    for sub, formula, variables in (("psi", fit.psi_formula, _site_variables(data)),
                                    ("p", fit.p_formula, _obs_variables(data))):
        names = list(dict.fromkeys(_var_of(f) for term in parse_formula(formula).terms for f in term))
        numeric = {}
        for v in names:
            vals = pd.to_numeric(pd.Series(np.asarray(variables[v]).ravel()), errors="coerce")
            if vals.notna().any() and "factor(" not in formula:
                numeric[v] = vals
        for v, vals in numeric.items():
            grid = np.linspace(vals.min(), vals.max(), 60)
            nd = pd.DataFrame({w: np.full(60, numeric[w].mean()) for w in numeric})
            nd[v] = grid
            panels.append((sub, v, grid, fit.predict(sub, nd)))
        if not numeric:
            panels.append((sub, None, None, fit.predict(sub, pd.DataFrame(index=[0]))))
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), squeeze=False)
    for ax, (sub, v, grid, pred) in zip(axes[0], panels):
        label = "occupancy ψ" if sub == "psi" else "detection p"
        if v is None:
            ax.errorbar([0], pred["Predicted"], yerr=[pred["Predicted"] - pred["lower"], pred["upper"] - pred["Predicted"]],
                        fmt="o", capsize=4)
            ax.set_xticks([])
            ax.set_xlabel("constant")
        else:
            ax.fill_between(grid, pred["lower"], pred["upper"], alpha=0.25)
            ax.plot(grid, pred["Predicted"])
            ax.set_xlabel(v)
        ax.set_ylim(0, 1)
        ax.set_ylabel(label)
    fig.suptitle(f"psi{fit.psi_formula}  p{fit.p_formula}   AIC {fit.aic:.2f}", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def register(app: typer.Typer) -> None:
    app.add_typer(occupancy_app, name="occupancy")
