"""Camtrap DP 1.0 specifics shared by import and export: offline validation and the field <-> column maps.

The official profile and table schemas are vendored (hub/schemas/camtrap-dp/1.0.2); packages declaring 1.0,
1.0.1 or 1.0.2 are validated against them with frictionless (tables) and jsonschema (package profile), with
the schema URLs mapped to the local copies so nothing is fetched.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from econet.errors import EconetError

SCHEMAS = Path(__file__).with_name("schemas")
VERSION = "1.0.2"
BASE_URL = "https://raw.githubusercontent.com/tdwg/camtrap-dp/{version}/{name}"
TABLES = ("deployments", "media", "observations")
MISSING = {"", "NA", "NaN", "nan"}

# Camtrap DP field -> (hub column, kind). Fields not listed are kept verbatim in `attributes`.
DEPLOYMENT_FIELDS = {
    "deploymentID": ("deployment_key", "str"), "latitude": ("lat", "num"), "longitude": ("lon", "num"),
    "coordinateUncertainty": ("coordinate_uncertainty_m", "int"), "deploymentStart": ("start", "time"),
    "deploymentEnd": ("end", "time"), "cameraID": ("camera_id", "str"), "cameraModel": ("camera_model", "str"),
    "locationID": ("site_key", "str"), "locationName": ("site_name", "str"),
}
MEDIA_FIELDS = {
    "mediaID": ("media_key", "str"), "deploymentID": ("deployment_key", "str"),
    "captureMethod": ("capture_method", "str"), "timestamp": ("time", "time"), "filePath": ("file_path", "str"),
    "filePublic": ("file_public", "bool"), "fileName": ("file_name", "str"), "fileMediatype": ("media_type", "str"),
}
OBSERVATION_FIELDS = {
    "observationID": ("occurrence_key", "str"), "deploymentID": ("deployment_key", "str"),
    "mediaID": ("media_key", "str"), "eventStart": ("time", "time"), "eventEnd": ("time_end", "time"),
    "observationType": ("observation_type", "str"), "scientificName": ("scientific_name", "str"),
    "count": ("count", "int"), "lifeStage": ("life_stage", "str"), "sex": ("sex", "str"),
    "behavior": ("behaviour", "str"), "individualID": ("individual_key", "str"),
}


def schema_path(table: str) -> Path:
    return SCHEMAS / "camtrap-dp" / VERSION / f"{table}-table-schema.json"


@lru_cache(maxsize=None)
def schema(table: str) -> dict:
    return json.loads(schema_path(table).read_text(encoding="utf-8"))


def field_types(table: str) -> dict[str, str]:
    return {f["name"]: f["type"] for f in schema(table)["fields"]}


def declared_version(descriptor: dict) -> str | None:
    mo = re.search(r"camtrap-dp/([0-9][0-9.]*)/", str(descriptor.get("profile", "")))
    return mo.group(1) if mo else None


def is_camtrap(descriptor: dict) -> bool:
    return "camtrap-dp" in str(descriptor.get("profile", ""))


def _local_descriptor(descriptor: dict) -> dict:
    d = json.loads(json.dumps(descriptor))
    for r in d.get("resources", []):
        if r.get("name") in TABLES and isinstance(r.get("schema"), str) and "camtrap-dp" in r["schema"]:
            r["schema"] = str(schema_path(r["name"]))
    d.pop("profile", None)
    return d


def validate_profile(descriptor: dict, path: Path) -> None:
    """Check datapackage.json against the Camtrap DP profile (JSON Schema) offline."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4, DRAFT7

    version = declared_version(descriptor)
    if version is None:
        raise EconetError("not a Camtrap DP package: `profile` is not a camtrap-dp profile URL",
                          path=path, field="profile")
    if not version.startswith("1.0"):
        raise EconetError(f"Camtrap DP version {version} is not supported (1.0, 1.0.1, 1.0.2)", path=path,
                          field="profile")
    profile = json.loads((SCHEMAS / "camtrap-dp" / VERSION / "camtrap-dp-profile.json").read_text())
    profile["$defs"]["version"] = {"pattern": r"1\.0(\.[0-2])?"}
    geojson = json.loads((SCHEMAS / "geojson.json").read_text())
    registry = Registry().with_resources([
        ("https://specs.frictionlessdata.io/schemas/data-package.json",
         Resource.from_contents({"type": "object"}, default_specification=DRAFT4)),
        ("http://json.schemastore.org/geojson.json", Resource.from_contents(geojson, default_specification=DRAFT7)),
    ])
    validator = jsonschema.Draft4Validator(profile, registry=registry)
    errors = sorted(validator.iter_errors(descriptor), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = ".".join(str(p) for p in e.absolute_path) or "(package)"
        raise EconetError(f"does not follow the Camtrap DP profile: {e.message[:300]}", path=path, field=where)


def validate(descriptor: dict, basepath: Path, path: Path) -> None:
    """Validate the package (profile + every table, with foreign keys) offline; EconetError on the first problem."""
    validate_profile(descriptor, path)
    names = {r.get("name") for r in descriptor.get("resources", [])}
    missing = [t for t in TABLES if t not in names]
    if missing:
        raise EconetError(f"missing resource(s): {', '.join(missing)}", path=path, field="resources")
    import frictionless
    from frictionless import Package, system
    with system.use_context(trusted=True):
        try:
            package = Package(_local_descriptor(descriptor), basepath=str(basepath))
            report = package.validate()
        except frictionless.FrictionlessException as exc:
            raise EconetError(f"invalid data package: {exc.error.note}", path=path) from None
    if report.valid:
        return
    for task in report.tasks:
        if task.errors:
            err = task.errors[0]
            row = getattr(err, "row_number", None)
            fld = getattr(err, "field_name", None)
            res = next((r for r in descriptor["resources"] if r.get("name") == task.name), {})
            file = basepath / res["path"] if isinstance(res.get("path"), str) else path
            raise EconetError(f"{err.title}: {err.note}"[:400], path=file, row=row, field=fld)
    raise EconetError("invalid data package", path=path)


def write_package(folder: Path, tables: dict[str, list[dict]], metadata: dict) -> Path:
    """Write a Camtrap DP 1.0 package: one CSV per table (columns as the official schemas) and datapackage.json
    with the resources, the profile and `metadata` (name, title, contributors, licenses, project, ...)."""
    import csv
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        cols = [f["name"] for f in schema(name)["fields"]]
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            w.writerows(tables.get(name, []))
    package = {"resources": [{"name": t, "path": f"{t}.csv", "profile": "tabular-data-resource", "format": "csv",
                              "mediatype": "text/csv", "encoding": "utf-8",
                              "schema": BASE_URL.format(version=VERSION, name=f"{t}-table-schema.json")}
                             for t in TABLES],
               "profile": BASE_URL.format(version=VERSION, name="camtrap-dp-profile.json"), **metadata}
    (folder / "datapackage.json").write_text(json.dumps(package, indent=2, ensure_ascii=False), encoding="utf-8")
    return folder
