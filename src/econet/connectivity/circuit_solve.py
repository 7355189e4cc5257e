"""Linear solves on one connected component: AMG-preconditioned CG (hierarchy built once, reused) or a
direct factorization (CHOLMOD through scikit-sparse when installed, else scipy's SuperLU).

Circuitscape.jl uses CG with a smoothed-aggregation AMG preconditioner built once per component
(src/core.jl) or CHOLMOD; the legacy Python Circuitscape used pyamg smoothed aggregation + CG.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg.blas import dgemm as _dgemm

from econet.errors import EconetError

try:
    from scipy.sparse._sparsetools import csc_matvecs as _csc_matvecs
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - private scipy API moved
    _csr_matvecs = _csc_matvecs = None

SOLVERS = ("auto", "cg+amg", "cholmod", "splu")
DIRECT_MAX_NODES = 50_000  # "auto": direct factorization below this component size, AMG-CG above
BLOCK_ELEMENTS = 4e6       # solve_pairs: right-hand sides built per call of solve (numbers per block array)
BLOCK_BYTES = 1.6e9        # AMG-CG work arrays of one block of right-hand sides stay below this
BYTES_PER_COLUMN = 42      # per node and right-hand side: 4 float64 CG vectors, the float32 V-cycle arrays
MAX_BLOCK = 16             # one block of 10 at 10^6 cells ran 15% faster than 5 + 5 (matrix read once)
JACOBI_OMEGA = 0.8         # damped-Jacobi weight of the V-cycle smoother
MAX_ITER = 1000
VDTYPE = np.float32        # V-cycle precision (the CG itself is float64)
MAX_COARSE = 10_000        # AMG coarsening stops below this many nodes; that level is solved exactly
DENSE_COARSE = 1_000       # coarsest levels up to this size use a dense inverse, larger ones sparse LU


def _spmm_add(indptr, indices, data, x: np.ndarray, out: np.ndarray) -> None:
    """out += A @ x for a CSR matrix given by its arrays and C-ordered blocks x, out (same dtype)."""
    if _csr_matvecs is None:  # pragma: no cover - private scipy API moved
        out += sp.csr_matrix((data, indices, indptr), shape=(out.shape[0], x.shape[0])) @ x
        return
    _csr_matvecs(out.shape[0], x.shape[0], x.shape[1], indptr, indices, data, x.ravel(), out.ravel())


def _spmm_t_add(indptr, indices, data, x: np.ndarray, out: np.ndarray) -> None:
    """out += P.T @ x for a CSR matrix P given by its arrays (read as the CSC matrix of P.T): the
    restriction is applied without storing R = P.T."""
    if _csc_matvecs is None:  # pragma: no cover
        out += sp.csr_matrix((data, indices, indptr), shape=(x.shape[0], out.shape[0])).T @ x
        return
    _csc_matvecs(out.shape[0], x.shape[0], x.shape[1], indptr, indices, data, x.ravel(), out.ravel())


def _coldot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Column-wise dot products of two (n, k) blocks (one BLAS call; einsum is 3x slower here)."""
    if u.shape[1] == 1:
        return np.array([u[:, 0] @ v[:, 0]])
    return np.ascontiguousarray((u.T @ v).diagonal())


def _axpy_cols(alpha: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    """y[:, j] += alpha[j] * x[:, j] for C-ordered (n, k) float64 blocks, in one pass (BLAS dgemm on the
    transposed views: numpy's broadcast over a short last axis runs 3x slower)."""
    if x.shape[1] == 1:
        y[:, 0] += alpha[0] * x[:, 0]
        return
    out = _dgemm(1.0, np.asfortranarray(np.diag(alpha)), x.T, beta=1.0, c=y.T, overwrite_c=1)
    if not np.may_share_memory(out, y):   # only if y was not C-ordered: f2py worked on a copy
        y[...] = out.T


def single_threaded_blas():
    """Vector BLAS calls inside CG are tiny; threaded OpenBLAS only spins on a busy machine (measured 6x
    slower under load), so solves run with one BLAS thread."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1)


def release_freed_memory() -> None:
    """Hand memory freed by the AMG setup's temporaries back to the OS (glibc keeps freed blocks under
    its mmap threshold, up to 32 MB each, in the heap): without this they stay in the process's peak
    while CG allocates its work arrays (about 0.2 GB at 4*10^6 cells). No-op off glibc."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


def cholmod_available() -> bool:
    try:
        import sksparse.cholmod  # noqa: F401
    except Exception:
        return False
    return True


def _coarse_inverse(a: np.ndarray, singular: bool) -> np.ndarray:
    """Dense (pseudo-)inverse for the coarsest level. A singular (Laplacian) hierarchy has exactly one
    null vector per level; it is dropped explicitly, because rounding in the Galerkin products can leave
    its eigenvalue just above pinv's cut-off, and 1/eps along it wrecks the preconditioner."""
    w, v = np.linalg.eigh(a)
    keep = w > w.max() * 1e-13
    if singular:
        keep[np.argmin(w)] = False
    inv = np.where(keep, 1.0 / np.where(keep, w, 1.0), 0.0)
    return (v * inv) @ v.T


class _CoarseSolve:
    """Exact solve on the coarsest AMG level: a dense (pseudo-)inverse up to DENSE_COARSE nodes, else a
    sparse LU factorization (a singular Laplacian with its last node grounded: a symmetric generalized
    inverse, which gives the same coarse-grid correction up to a constant that CG removes at the end).
    A larger exact coarse level keeps the hierarchy equally deep as grids grow, and so the CG
    iteration count flat."""

    def __init__(self, a: sp.spmatrix, singular: bool):
        self.n = a.shape[0]
        self.lu = None
        if self.n <= DENSE_COARSE:
            self.inv = _coarse_inverse(a.toarray(), singular).astype(VDTYPE)
            return
        m = sp.csc_matrix(a, dtype=np.float64)
        self.grounded = singular
        if singular:
            m = m[:-1, :-1]
        self.lu = spla.splu(sp.csc_matrix(m), permc_spec="MMD_AT_PLUS_A")

    def __call__(self, b: np.ndarray, out: np.ndarray) -> None:
        if self.lu is None:
            np.dot(self.inv, b.astype(VDTYPE, copy=False), out=out)   # b is float64 on a one-level hierarchy
            return
        if self.grounded:
            out[:-1] = self.lu.solve(np.asarray(b[:-1], dtype=np.float64))
            out[-1] = 0.0
        else:
            out[...] = self.lu.solve(np.asarray(b, dtype=np.float64))


class ComponentSolver:
    """Solves A x = b for one connected component: A is its Laplacian (singular=True) or the Laplacian
    plus ground conductances on the diagonal (singular=False, direct grounds already removed).

    A pure Laplacian (no grounds) is singular: right-hand sides must sum to zero, and the returned
    solution has zero mean (AMG-CG) or is shifted to zero mean (direct, solved with the last node
    grounded, which changes the solution by a constant only).
    """

    def __init__(self, matrix: sp.spmatrix, *, singular: bool, solver: str = "auto", tol: float = 1e-8):
        if solver not in SOLVERS:
            raise EconetError(f"unknown solver '{solver}' (use one of {', '.join(SOLVERS)})", field="solver")
        self.n = matrix.shape[0]
        self.singular = singular
        self.tol = tol
        self.n_solves = 0
        self.iterations = np.zeros(0, dtype=np.int64)   # AMG-CG: iterations per column of the last block
        a = sp.csr_matrix(matrix, dtype=np.float64)
        if solver == "auto":
            solver = "splu" if self.n <= DIRECT_MAX_NODES else "cg+amg"
        if solver == "cholmod" and not cholmod_available():
            solver = "splu"   # scikit-sparse needs the SuiteSparse C library; SuperLU is the fallback
        self.method = solver
        if self.n == 0:
            return
        if solver == "cg+amg":
            self.matrix = a
            self._setup_amg(a)
        else:
            m = a[:-1, :-1] if singular else a
            if self.n == 1 and singular:
                self.factor = None
                return
            if solver == "cholmod":
                from sksparse.cholmod import cholesky
                self.factor = cholesky(sp.csc_matrix(m))
                self._direct = lambda rhs: self.factor(rhs)
            else:
                lu = spla.splu(sp.csc_matrix(m), permc_spec="MMD_AT_PLUS_A")
                self._direct = lu.solve

    def solve(self, b: np.ndarray, overwrite_b: bool = False) -> np.ndarray:
        """Solution for one right-hand side (1-D) or several (2-D, one per column). overwrite_b: AMG-CG
        may use a sparse C-ordered float64 b as its residual array (saves one block of memory)."""
        b = np.asarray(b, dtype=np.float64)
        cols = 1 if b.ndim == 1 else b.shape[1]
        self.n_solves += cols
        if self.n == 0:
            return np.zeros_like(b)
        if self.method == "cg+amg":
            with single_threaded_blas():
                if b.ndim == 1:
                    return self._block_cg(b[:, None])[:, 0]
                step = self.block_size(cols)
                if step >= cols:
                    return self._block_cg(b, overwrite_b)
                out = np.empty(b.shape)
                for k in range(0, cols, step):
                    out[:, k:k + step] = self._block_cg(b[:, k:k + step])
                return out
        if self.singular:
            x = np.zeros_like(b)
            if self.n > 1:
                x[:-1] = self._direct(np.ascontiguousarray(b[:-1]))
            x -= x.mean(axis=0)
            return x
        return self._direct(np.ascontiguousarray(b))

    def block_size(self, cols: int) -> int:
        """Right-hand sides iterated together: as many as the memory budget allows (at most MAX_BLOCK),
        spread evenly over the passes (10 columns at width 4 run as 4 + 3 + 3)."""
        k = int(max(1, min(cols, MAX_BLOCK, BLOCK_BYTES // max(self.n * BYTES_PER_COLUMN, 1))))
        passes = -(-cols // k)
        return -(-cols // passes)

    def _setup_amg(self, a: sp.csr_matrix) -> None:
        """Smoothed-aggregation hierarchy (pyamg), stored for a float32 V-cycle: each level keeps -A's
        values in float32 (sharing the int32 index arrays), the damped inverse diagonal and the
        prolongation P; restriction applies P's arrays transposed, so R = P.T is not stored."""
        import pyamg
        with warnings.catch_warnings(), single_threaded_blas():
            warnings.simplefilter("ignore")
            # cheap local spectral bound for the prolongation smoother: setup 25x faster than the
            # default Arnoldi estimate, same CG iteration count on resistance grids. strength=None
            # aggregates on A's pattern, which is what symmetric strength with theta = 0 (pyamg's
            # default) keeps anyway: same hierarchy and iterations, setup 2.5x faster.
            ml = pyamg.smoothed_aggregation_solver(a, B=np.ones((self.n, 1)), symmetry="symmetric",
                                                   strength=None, max_coarse=MAX_COARSE,
                                                   smooth=("jacobi", {"weighting": "local"}),
                                                   improve_candidates=None)
            self._coarse = _CoarseSolve(ml.levels[-1].A, self.singular)
        levels = ml.levels
        self._levels = []
        for k, lv in enumerate(levels[:-1]):
            A = a if k == 0 else sp.csr_matrix(lv.A)
            P = sp.csr_matrix(lv.P)
            idx = np.int32 if max(A.nnz, P.nnz) < 2**31 - 1 else np.int64
            self._levels.append({
                "n": A.shape[0],
                "indptr": A.indptr.astype(idx, copy=False), "indices": A.indices.astype(idx, copy=False),
                "neg": (-A.data).astype(VDTYPE),
                "wd": (JACOBI_OMEGA / A.diagonal()).astype(VDTYPE)[:, None],
                "p_indptr": P.indptr.astype(idx, copy=False), "p_indices": P.indices.astype(idx, copy=False),
                "p_data": P.data.astype(VDTYPE)})
        self._coarse_n = self._coarse.n
        del ml, levels
        release_freed_memory()

    def _buffers(self, k: int):
        """float32 work arrays per level for k right-hand sides, allocated once per block: fresh
        100 MB arrays cost more in page faults than the arithmetic done on them."""
        if getattr(self, "_buf_k", None) != k:
            self._bufs = [(np.empty((lv["n"], k), VDTYPE), np.empty((lv["n"], k), VDTYPE))
                          for lv in self._levels]
            ncs = [lv["n"] for lv in self._levels[1:]] + [self._coarse_n]
            self._bb = [np.empty((m, k), VDTYPE) for m in ncs]
            self._xc = np.empty((self._coarse_n, k), VDTYPE)
            self._buf_k = k

    def _vcycle(self, lv: int, b: np.ndarray) -> np.ndarray:
        """One symmetric V-cycle in float32 on a block of right-hand sides (damped Jacobi, one sweep
        each way, exact coarse solve); the result lives in a reused buffer. The finest level reads
        CG's float64 residual directly (cast on the fly: no float32 copy of it is stored)."""
        if lv == len(self._levels):
            self._coarse(b, self._xc)
            return self._xc
        L = self._levels[lv]
        x, t = self._bufs[lv]
        bc = self._bb[lv]
        np.multiply(L["wd"], b, out=x)                         # pre-smoothing from x = 0
        np.copyto(t, b)
        _spmm_add(L["indptr"], L["indices"], L["neg"], x, t)    # t = b - A x
        bc.fill(0.0)
        _spmm_t_add(L["p_indptr"], L["p_indices"], L["p_data"], t, bc)   # restrict
        xc = self._vcycle(lv + 1, bc)
        _spmm_add(L["p_indptr"], L["p_indices"], L["p_data"], xc, x)     # x += P xc
        np.copyto(t, b)
        _spmm_add(L["indptr"], L["indices"], L["neg"], x, t)    # post-smoothing
        t *= L["wd"]
        x += t
        return x

    def _block_cg(self, b: np.ndarray, overwrite_b: bool = False) -> np.ndarray:
        """Preconditioned CG run on several right-hand sides at once: each column has its own step
        lengths, but the matrix and the AMG hierarchy are streamed once per iteration for all of them.
        CG runs in float64, the V-cycle preconditioner in float32 (half the memory traffic; the
        preconditioner only needs to be a good approximate inverse). Singular Laplacians need no
        projection inside the loop: the residual stays orthogonal to the constants, and the constant
        part the preconditioner adds to x is removed at the end."""
        b = np.asarray(b, dtype=np.float64)
        n, k = b.shape
        b_sparse = None
        if overwrite_b and b.flags.c_contiguous:   # b becomes the residual; keep its few non-zeros
            nz = np.flatnonzero(b)
            if nz.size <= b.size // 8:
                b_sparse = (nz, b.ravel()[nz])
        r = b if b_sparse is not None else np.array(b, dtype=np.float64, order="C")
        shift = None
        if self.singular:
            shift = np.ones(n) @ r / n
            if np.any(shift != 0):
                r -= shift
        nb = np.sqrt(_coldot(r, r))
        live = nb > 0
        x = np.zeros((n, k))
        if not live.any():
            return x
        ia, ix, da = self.matrix.indptr, self.matrix.indices, self.matrix.data
        self._buffers(k)
        p = np.empty((n, k))
        np.copyto(p, self._vcycle(0, r))
        rz = _coldot(r, p)
        nb_safe = np.where(live, nb, 1.0)
        ap = np.empty((n, k))
        iters = np.zeros(k, dtype=np.int64)
        for it in range(MAX_ITER):
            ap.fill(0.0)
            _spmm_add(ia, ix, da, p, ap)
            pap = _coldot(p, ap)
            alpha = np.where(pap > 0, rz / np.where(pap > 0, pap, 1.0), 0.0)
            _axpy_cols(alpha, p, x)
            _axpy_cols(-alpha, ap, r)
            done = np.sqrt(_coldot(r, r)) / nb_safe < self.tol
            iters[(iters == 0) & done] = it + 1
            if done.all():
                break
            if done.any():          # freeze converged columns: zero residual and direction
                r[:, done] = 0.0
                p[:, done] = 0.0
            z = ap                  # ap is free until the next product: it holds z = M r
            np.copyto(z, self._vcycle(0, r))
            rz_new = _coldot(r, z)
            beta = np.where(rz != 0, rz_new / np.where(rz != 0, rz, 1.0), 0.0)
            rz = rz_new
            _axpy_cols(beta, p, z)  # z = z + beta p becomes the new direction
            p, ap = z, p
        del p
        self.iterations = iters
        self._bufs = self._bb = self._xc = None
        self._buf_k = None
        if self.singular:
            x -= np.ones(n) @ x / n
        # true residual, checked as Circuitscape.jl does (relative residual above 1e-4 is an error)
        ap.fill(0.0)
        _spmm_add(ia, ix, da, x, ap)
        if b_sparse is None:
            np.subtract(b, ap, out=ap)
        else:
            np.negative(ap, out=ap)
            ap.ravel()[b_sparse[0]] += b_sparse[1]
        if shift is not None and np.any(shift != 0):
            ap -= shift
        res = np.sqrt(_coldot(ap, ap)) / nb_safe
        if (res[live] > 1e-4).any():   # Circuitscape.jl's acceptance threshold
            raise EconetError(f"linear solver did not converge (relative residual {res.max():.2e}); "
                              "the conductances may span too many orders of magnitude")
        return x
