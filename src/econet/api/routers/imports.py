"""/api/v1/imports: upload a file into a dataset, follow its progress, read its report.

Uploads are refused (4xx, nothing stored) when larger than the server's cap, when the file name tries to
leave the upload folder, or when an archive holds absolute/parent paths, links, too many members, more
uncompressed bytes than the cap, or a compression ratio typical of decompression bombs.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path, PurePosixPath
from typing import Optional

from fastapi import Depends, File, Form, HTTPException, Request, UploadFile

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, clean_text, engine
from econet.hub import sharing
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["imports"])

MAX_UPLOAD = 200 * 1024 * 1024
MAX_UNZIPPED = 1024 * 1024 * 1024
MAX_RATIO = 100.0
MAX_MEMBERS = 20000
FORMATS = ("camtrap-dp", "dwca", "euring", "wgms", "genotypes", "csv")
_PROGRESS: dict[int, tuple[int, Optional[int]]] = {}
_lock = threading.Lock()


def _limit(request: Request, name: str, default):
    return getattr(request.app.state, name, None) or default


def _safe_name(filename: str | None) -> str:
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    if not name or name in (".", "..") or (filename and (".." in filename.replace("\\", "/").split("/")
                                                         or filename.startswith(("/", "\\")))):
        raise HTTPException(400, "bad file name (no folders or '..' allowed)")
    if not re.fullmatch(r"[\w][\w.\- ]{0,199}", name):
        raise HTTPException(400, "bad file name (letters, digits, . _ - and spaces only)")
    return name


def _save(upload: UploadFile, dest: Path, cap: int) -> int:
    n = 0
    with open(dest, "wb") as fh:
        while True:
            block = upload.file.read(1 << 20)
            if not block:
                break
            n += len(block)
            if n > cap:
                raise HTTPException(413, f"upload larger than the server's limit of {cap} bytes")
            fh.write(block)
    if n == 0:
        raise HTTPException(400, "empty upload")
    return n


def check_archive(path: Path, *, max_unzipped: int = MAX_UNZIPPED, max_ratio: float = MAX_RATIO) -> list[str]:
    """The member names of a safe zip archive; HTTP 400/413 for traversal, links, bombs, corrupt files."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_MEMBERS:
                raise HTTPException(413, "archive has too many members")
            total = 0
            packed = 0
            for i in infos:
                name = i.filename.replace("\\", "/")
                parts = PurePosixPath(name).parts
                if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                    raise HTTPException(400, "archive member with an absolute or parent path refused")
                if (i.external_attr >> 16) & 0o170000 == 0o120000:
                    raise HTTPException(400, "archive member that is a link refused")
                total += i.file_size
                packed += i.compress_size
                if total > max_unzipped:
                    raise HTTPException(413, "archive unpacks to more than the server's limit")
                if i.file_size > 1024 * 1024 and i.file_size > max_ratio * max(i.compress_size, 1):
                    raise HTTPException(413, "archive member compressed suspiciously well (decompression bomb)")
            if total > 1024 * 1024 and total > max_ratio * max(packed, 1):
                raise HTTPException(413, "archive compressed suspiciously well (decompression bomb)")
            bad = z.testzip()
            if bad is not None:
                raise HTTPException(400, "archive is corrupt")
            return [i.filename for i in infos]
    except zipfile.BadZipFile:
        raise HTTPException(400, "not a valid zip archive") from None


def _job(conn, **values) -> int:
    from sqlalchemy import insert
    from econet.hub import models as m
    return conn.execute(insert(m.Job).values(created_at=m.utcnow(), done=0, **values).returning(m.Job.id)).scalar_one()


def _finish(eng, job_id: int, **values) -> None:
    from sqlalchemy import update
    from econet.hub import models as m
    with eng.begin() as conn:
        conn.execute(update(m.Job).where(m.Job.id == job_id).values(finished_at=m.utcnow(), **values))
    with _lock:
        _PROGRESS.pop(job_id, None)


@router.post("/imports", dependencies=[rule("contributor")], status_code=201,
             summary="Upload a file into a dataset of one of my organizations (contributors)")
def upload(request: Request, file: UploadFile = File(...), dataset: str = Form(..., max_length=200),
           organization: str = Form(..., max_length=200), format: Optional[str] = Form(None),
           mapping: Optional[UploadFile] = File(None), view: View = Depends(get_view)):
    from econet.errors import EconetError
    from econet.hub import accounts
    from econet.hub.accounts import role_rank
    from econet.hub.ingest import import_path

    clean_text(dataset, "dataset", ident=True)
    clean_text(organization, "organization", ident=True)
    if format is not None and format not in FORMATS:
        raise HTTPException(422, f"format must be one of {', '.join(FORMATS)}")
    eng = engine(request)
    with eng.connect() as conn:
        try:
            oid = accounts.org_id(conn, organization)
        except EconetError:
            raise HTTPException(403, "you may import only into your own organizations") from None
    if not (view.is_admin or role_rank(view.role(oid)) >= role_rank("contributor")):
        raise HTTPException(403, "you may import only into your own organizations")
    name = _safe_name(file.filename)
    tmp = Path(tempfile.mkdtemp(prefix="econet-upload-"))
    try:
        src = tmp / name
        size = _save(file, src, _limit(request, "max_upload_bytes", MAX_UPLOAD))
        map_path = None
        if mapping is not None:
            map_path = tmp / "mapping.yaml"
            _save(mapping, map_path, 64 * 1024)
        target = src
        if zipfile.is_zipfile(src):
            members = check_archive(src, max_unzipped=_limit(request, "max_unzipped_bytes", MAX_UNZIPPED))
            if any(PurePosixPath(n).name == "datapackage.json" for n in members):
                target = tmp / "package"
                with zipfile.ZipFile(src) as z:
                    z.extractall(target)
                inner = [p.parent for p in target.rglob("datapackage.json")]
                target = inner[0] if inner else target
        with eng.begin() as conn:
            job_id = _job(conn, kind="import", user_id=view.user_id, status="running", view=view.describe(),
                          params={"dataset": dataset, "organization": organization, "file": name, "bytes": size,
                                  "format": format})

        def progress(done, total=None, description=None):
            with _lock:
                _PROGRESS[job_id] = (int(done or 0), total)

        try:
            report = import_path(eng, target, dataset=dataset, org=organization, fmt=format, mapping=map_path,
                                 progress=progress)
        except EconetError as exc:
            msg = exc.message.replace(str(tmp), "")
            _finish(eng, job_id, status="failed", error=msg)
            return _refuse(job_id, msg, exc.row, exc.field)
        except Exception:  # unreadable input the reader did not anticipate: refused, nothing stored
            _finish(eng, job_id, status="failed", error="the file could not be read")
            return _refuse(job_id, "the file could not be read", None, None)
        report = {k: v for k, v in report.items() if k != "source"}
        report["source"] = name
        _finish(eng, job_id, status="done", result=report, done=report.get("rows_read") or 0)
        with eng.begin() as conn:
            sharing.audit(conn, view, "import", f"dataset:{dataset}", {"job": job_id, "file": name})
        return {"id": job_id, "status": "done", "report": report}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _refuse(job_id, msg, row, field):
    from fastapi.responses import JSONResponse
    return JSONResponse({"id": job_id, "status": "failed", "detail": msg, "row": row, "field": field},
                        status_code=400)


def _visible_job(conn, view: View, job_id: int):
    from sqlalchemy import select
    from econet.hub import models as m
    j = conn.execute(select(m.Job.__table__).where(m.Job.id == job_id, m.Job.kind == "import")).first()
    if j is None or not (view.is_admin or (j.user_id is not None and j.user_id == view.user_id)):
        raise HTTPException(404, "no such import")
    return j


def _job_dict(j) -> dict:
    with _lock:
        live = _PROGRESS.get(j.id)
    done, total = live if live else (j.done, j.total)
    return {"id": j.id, "status": j.status, "done": done, "total": total, "params": j.params,
            "report": j.result, "error": j.error, "created_at": j.created_at.isoformat(),
            "finished_at": j.finished_at and j.finished_at.isoformat()}


@router.get("/imports", dependencies=[rule("user")], summary="My imports")
def list_imports(request: Request, view: View = Depends(get_view)):
    from sqlalchemy import select
    from econet.hub import models as m
    with engine(request).connect() as conn:
        q = select(m.Job.__table__).where(m.Job.kind == "import").order_by(m.Job.id.desc()).limit(500)
        if not view.is_admin:
            q = q.where(m.Job.user_id == view.user_id)
        return {"imports": [_job_dict(j) for j in conn.execute(q)]}


@router.get("/imports/{job_id}", dependencies=[rule("user")], summary="Progress and result of an import")
def get_import(job_id: int, request: Request, view: View = Depends(get_view)):
    with engine(request).connect() as conn:
        return _job_dict(_visible_job(conn, view, job_id))
