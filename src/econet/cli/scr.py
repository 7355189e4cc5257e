"""`econet scr`: spatially explicit capture-recapture density estimates, as R's secr."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli._hubopts import AsUser, Dataset, End, HubDb, Start, Taxon
from econet.cli.options import Debug, Format, OutputFormat, Quiet, apply


class Detector(str, Enum):
    multi = "multi"
    proximity = "proximity"
    count = "count"
    polygonX = "polygonX"


class DetectFn(str, Enum):
    HN = "HN"
    EX = "EX"
    HHN = "HHN"
    HEX = "HEX"


class Likelihood(str, Enum):
    full = "full"
    conditional = "conditional"


class CaptureFormat(str, Enum):
    auto = "auto"
    trapID = "trapID"
    XY = "XY"


def register(app: typer.Typer) -> None:
    scr_app = typer.Typer(help="Spatial capture-recapture (SECR): density from detections of "
                               "identified animals, as R's secr.", no_args_is_help=True)
    scr_app.command("fit")(fit_cmd)
    app.add_typer(scr_app, name="scr")


def fit_cmd(
    captures: Annotated[Optional[Path], typer.Option("--captures", help="Capture file: secr text "
                                                     "(session ID occasion detector | x y) or CSV "
                                                     "(session,ID,occasion,detector[,count]).")]
    = None,
    traps: Annotated[Optional[Path], typer.Option("--traps", help="Trap layout: secr text (detector "
                                                  "x y [usage]) or CSV (detector,x,y[,usage_*]); "
                                                  "metres.")] = None,
    camtrap: Annotated[Optional[Path], typer.Option("--camtrap", help="Instead of --captures/--traps:"
                                                    " a Camtrap DP folder (deployments.csv, "
                                                    "observations.csv with individualID).")] = None,
    species: Annotated[Optional[str], typer.Option("--species", help="With --camtrap: "
                                                   "scientificName to keep.")] = None,
    occasion_days: Annotated[float, typer.Option("--occasion-days", help="With --camtrap: "
                                                 "occasion length in days.")] = 1.0,
    mask: Annotated[Optional[Path], typer.Option("--mask", help="Habitat mask CSV (x,y) or text; "
                                                 "else built from --buffer/--spacing.")] = None,
    buffer: Annotated[Optional[float], typer.Option("--buffer", help="Mask buffer around the "
                                                    "detectors, metres (secr default 100).")] = None,
    spacing: Annotated[Optional[float], typer.Option("--spacing", help="Mask spacing, metres "
                                                     "(default: 64 cells across, as secr).")] = None,
    habitat: Annotated[Optional[Path], typer.Option("--habitat", help="Polygon file (GeoPackage, "
                                                    "shapefile, GeoJSON or x y text) of habitat: "
                                                    "clips the buffered mask, or without --buffer "
                                                    "is the mask itself.")] = None,
    exclude: Annotated[Optional[Path], typer.Option("--exclude", help="Polygon file of non-habitat "
                                                    "(e.g. lakes) removed from the mask.")] = None,
    detector: Annotated[Optional[Detector], typer.Option("--detector", help="multi (multi-catch traps; "
                                                         "default for files), proximity (camera traps, hair "
                                                         "snags; default with --db), count, or polygonX "
                                                         "(searches of rectangular areas, HHN).")]
    = None,
    detectfn: Annotated[DetectFn, typer.Option("--detectfn", help="Detection function: HN "
                                               "half-normal, EX exponential, HHN hazard "
                                               "half-normal, HEX hazard exponential.")]
    = DetectFn.HN,
    likelihood: Annotated[Likelihood, typer.Option("--likelihood", help="full (D estimated) or "
                                                   "conditional (D derived as n/esa).")]
    = Likelihood.full,
    capture_format: Annotated[CaptureFormat, typer.Option("--capture-format", help="Capture file "
                                                          "form: trapID, XY or auto.")]
    = CaptureFormat.auto,
    occasions: Annotated[Optional[int], typer.Option("--occasions", help="Number of occasions "
                                                     "(default: usage columns, else the largest "
                                                     "occasion in the captures).")] = None,
    region: Annotated[Optional[Path], typer.Option("--region", help="Polygon file: also report "
                                                   "the expected number of animals in it.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write a map (PNG): mask shaded "
                                                 "by detection probability, detectors, "
                                                 "detections, region.")] = None,
    profile: Annotated[bool, typer.Option("--profile-ci", help="Also a profile-likelihood "
                                          "interval for D (secr confint; full likelihood).")]
    = False,
    model: Annotated[Optional[str], typer.Option("--model", help="secr model formulae, e.g. 'D ~ forest, "
                                                 "g0 ~ b' (mask covariates: extra mask CSV columns; detector "
                                                 "covariates: cov_* trap columns; full likelihood).")] = None,
    db: HubDb = None,
    as_user: AsUser = None,
    taxon: Taxon = None,
    dataset: Dataset = None,
    start: Start = None,
    end: End = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="With --db: write the estimates per country "
                                                "and overall as CSV.")] = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Fit an SECR model (default D~1, g0~1, sigma~1) by maximum likelihood; D is animals per hectare, as secr."""
    apply(quiet, debug)
    from econet.analytics import scr
    from econet.analytics.secr_formats import read_capthist, read_mask, read_polygon
    from econet.cli.console import emit, progress, say
    from econet.errors import EconetError

    detector = detector or (Detector.proximity if db is not None else Detector.multi)
    if db is not None:
        _hub_fit(db, as_user, taxon, dataset, start, end, occasion_days, detector.value, detectfn.value, buffer,
                 spacing, model, out, fmt)
        return
    if camtrap is not None:
        import pandas as pd
        from econet.analytics.secr_formats import capthist_from_camtrap
        try:
            deps = pd.read_csv(camtrap / "deployments.csv")
            obs = pd.read_csv(camtrap / "observations.csv")
        except (FileNotFoundError, pd.errors.ParserError) as exc:
            raise EconetError(f"cannot read the Camtrap DP tables: {exc}", path=camtrap) from None
        sessions = [capthist_from_camtrap(deps, obs, species=species, occasion_days=occasion_days,
                                          detector=detector.value)]
    elif captures is None or traps is None:
        raise EconetError("give --captures and --traps (or --camtrap)", field="captures")
    else:
        sessions = read_capthist(captures, traps, detector.value, capture_format.value, occasions)
    hab = read_polygon(habitat) if habitat else None
    exc = read_polygon(exclude) if exclude else None
    if mask is not None:
        if buffer is not None:
            raise EconetError("give either --mask or --buffer, not both", field="buffer")
        m = read_mask(mask, spacing)
        if hab is not None or exc is not None:
            keep = scr._points_in(m.xy, hab) if hab is not None else True
            if exc is not None:
                keep = keep & ~scr._points_in(m.xy, exc)
            m = scr.Mask(m.xy[keep], m.spacing)
        masks = [m] * len(sessions)
    elif hab is not None and buffer is None:
        # the habitat polygon itself is the mask (secr make.mask type = "polygon")
        m = scr.make_mask(kind="polygon", polygon=hab, spacing=spacing, exclude=exc)
        masks = [m] * len(sessions)
    else:
        b = 100.0 if buffer is None else buffer
        masks = [scr.make_mask(s.traps.xy, buffer=b, spacing=spacing, polygon=hab, exclude=exc)
                 for s in sessions]
    say(f"{sum(s.n for s in sessions)} animals, {len(sessions)} session(s), "
        f"{len(masks[0].xy)} mask points; fitting ...")
    if model:
        from econet.analytics import scr_models
        with progress("fitting SECR model", total=3) as bar:
            mfit = scr_models.fit_model(sessions, masks, model, detector.value, detectfn.value, progress=bar)
        emit(mfit.as_dict() if fmt == OutputFormat.json else mfit.coefficients(), fmt,
             title=f"SECR {mfit.model}; D per hectare")
        return
    with progress("fitting SECR model", total=3) as bar:
        result = scr.fit(sessions, masks, detector.value, detectfn.value, likelihood.value,
                         progress=bar)
    out = result.as_dict()
    reg = read_polygon(region) if region is not None else None
    if reg is not None:
        out["region"] = scr.region_n(result, reg)
    if plot is not None:
        out["plot"] = str(scr.plot_fit(result, plot, region=reg))
    if profile:
        say("profile-likelihood interval for D ...")
        lcl, ucl = scr.profile_ci_D(result)
        out["D_profile_ci"] = {"lcl": lcl, "ucl": ucl}
    if fmt == OutputFormat.json:
        emit(out, fmt)
        return
    rows = []
    for name in ("D", result.detection_name, "sigma"):
        e = out[name]
        rows.append({"parameter": name, "estimate": e["estimate"], "se": e["se"],
                     "lcl": e["lcl"], "ucl": e["ucl"]})
    emit(rows, fmt, title=f"SECR {detector.value}/{detectfn.value} ({likelihood.value} "
                          f"likelihood); D per hectare")
    if fmt == OutputFormat.table:
        say(f"n animals {out['n_animals']}, detections {out['n_detections']}, log-likelihood "
            f"{out['loglik']:.4f}, AIC {out['aic']:.3f}")
        if "D_profile_ci" in out:
            say(f"profile-likelihood 95% interval for D: {out['D_profile_ci']['lcl']:.6g} - "
                f"{out['D_profile_ci']['ucl']:.6g}")
        if "region" in out:
            say(f"expected animals in region: {out['region']['E.N']['estimate']:.2f} "
                f"(realised {out['region']['R.N']['estimate']:.2f})")


def _hub_fit(db, as_user, taxon, dataset, start, end, occasion_days, detector, detectfn, buffer, spacing, model,
             out, fmt) -> None:
    """`econet scr fit --db URL [--as USER]`: SCR on the hub's camera traps under the caller's view."""
    from econet.atomic import atomic_path
    from econet.cli._hubopts import hub_run, say_input
    from econet.cli.console import emit, progress
    from econet.errors import EconetError
    from econet.hub import population
    if detector not in ("proximity", "count", "multi"):
        raise EconetError("hub camera traps are point detectors: --detector proximity, count or multi",
                          field="detector")
    with progress("fitting SECR model", total=3) as bar:
        result = hub_run(db, as_user, population.run_scr, taxon=taxon, dataset=dataset, start=start, end=end,
                         occasion_days=occasion_days, detector=detector, detectfn=detectfn, buffer_m=buffer,
                         spacing_m=spacing, model=model, progress=bar)
    table = population.scr_table(result)
    if out is not None:
        with atomic_path(out) as tmp:
            table.to_csv(tmp, index=False)
    if fmt == OutputFormat.json:
        emit(result, fmt)
        return
    say_input(result)
    emit(table.to_dict("records"), fmt, title=f"SECR on the hub: expected {result['input']['taxon']} per country")
