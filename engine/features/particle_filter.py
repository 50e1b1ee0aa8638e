"""Market-state tracker: a bootstrap particle filter over 1-minute log returns.

State of each particle: latent drift ``m`` and latent log-variance ``h``::

    m_t = phi * m_{t-1} + q_m * exp(h_{t-1} / 2) * e1      (drift noise scales with volatility)
    h_t = h_{t-1} + q_h * e2                                (random-walk log-variance)
    r_t ~ Normal(m_t, exp(h_t))

Outputs per bar: the posterior mean of ``m`` (a denoised return), its
posterior standard deviation (state uncertainty) and the posterior mean of
``exp(h / 2)`` (latent volatility). Systematic resampling when the effective
sample size falls below half the particles.

Batch and streaming run the same numba kernels on the same random numbers:
two ``numpy`` Generators spawned from the configured seed (one for the
propagation noise, one for the resampling uniforms) are drawn in blocks of
steps; a Generator's stream does not depend on the block size, so the batch
path uses large blocks (speed) and the streaming path small ones (no latency
spike), and the log returns are computed inside the kernel. The two paths
therefore agree bit for bit, and a truncated series gives the same values as
the full one (invariant 1). Particles start on a fixed
quantile grid (no random draw) around the first return's magnitude.
"""

from __future__ import annotations

import math
from typing import Final

import numba
import numpy as np
from scipy.special import ndtri

from engine.features.config import ParticleFilterConfig
from engine.features.indicators import Array

OUTPUTS: Final = ("pf_drift", "pf_drift_std", "pf_vol")
_BATCH_BLOCK: Final = 1024
_STREAM_BLOCK: Final = 16
_LOGVAR_MIN: Final = math.log(1e-14)
_LOGVAR_MAX: Final = 0.0
_INIT_SPREAD: Final = 2.0
_RETURN_FLOOR: Final = 1e-10


@numba.njit(cache=True)
def _log_return(prev_close: float, close: float) -> float:
    return math.log(close) - math.log(prev_close)


@numba.njit(cache=True)
def _init_particles(r: float, m: Array, h: Array, sd: Array, logw: Array, grid: Array) -> None:
    center = math.log(max(r * r, _RETURN_FLOOR))
    n = m.shape[0]
    for i in range(n):
        m[i] = 0.0
        h[i] = min(max(center + _INIT_SPREAD * grid[i], _LOGVAR_MIN), _LOGVAR_MAX)
        sd[i] = math.exp(0.5 * h[i])
        logw[i] = -math.log(n)


@numba.njit(cache=True)
def _step(
    r: float,
    m: Array,
    h: Array,
    sd: Array,
    logw: Array,
    w: Array,
    z1: Array,
    z2: Array,
    phi: float,
    q_m: float,
    q_h: float,
    out: Array,
) -> float:
    """Propagate, weight and summarise; return the effective sample size."""
    n = m.shape[0]
    top = -math.inf
    for i in range(n):
        m[i] = phi * m[i] + q_m * sd[i] * z1[i]
        hi = min(max(h[i] + q_h * z2[i], _LOGVAR_MIN), _LOGVAR_MAX)
        h[i] = hi
        s = math.exp(0.5 * hi)
        sd[i] = s
        d = (r - m[i]) / s
        logw[i] = logw[i] - 0.5 * (d * d + hi)
        top = max(top, logw[i])
    total = 0.0
    for i in range(n):
        w[i] = math.exp(logw[i] - top)
        total += w[i]
    shift = top + math.log(total)
    mean = 0.0
    vol = 0.0
    sumsq = 0.0
    for i in range(n):
        w[i] = w[i] / total
        logw[i] = logw[i] - shift
        mean += w[i] * m[i]
        vol += w[i] * sd[i]
        sumsq += w[i] * w[i]
    var = 0.0
    for i in range(n):
        d = m[i] - mean
        var += w[i] * d * d
    out[0] = mean
    out[1] = math.sqrt(var)
    out[2] = vol
    return 1.0 / sumsq


@numba.njit(cache=True)
def _resample(
    m: Array, h: Array, sd: Array, logw: Array, w: Array, scratch: Array, u: float
) -> None:
    """Systematic resampling with one uniform draw ``u``; weights become equal."""
    n = m.shape[0]
    idx = np.empty(n, dtype=np.int64)
    cumulative = w[0]
    j = 0
    for i in range(n):
        position = (u + i) / n
        while j < n - 1 and cumulative < position:
            j += 1
            cumulative += w[j]
        idx[i] = j
    for state in (m, h, sd):
        for i in range(n):
            scratch[i] = state[idx[i]]
        for i in range(n):
            state[i] = scratch[i]
    for i in range(n):
        logw[i] = -math.log(n)


@numba.njit(cache=True)
def _run_block(
    closes: Array,
    prev_close: float,
    first_step: int,
    m: Array,
    h: Array,
    sd: Array,
    logw: Array,
    w: Array,
    scratch: Array,
    grid: Array,
    normals: Array,
    uniforms: Array,
    offset: int,
    phi: float,
    q_m: float,
    q_h: float,
    out: Array,
) -> int:
    """Filter ``closes`` (all within one noise block from ``offset``); return the steps taken."""
    step = first_step
    for t in range(closes.shape[0]):
        r = _log_return(prev_close, closes[t])
        prev_close = closes[t]
        if step == 0:
            _init_particles(r, m, h, sd, logw, grid)
        k = offset + t
        ess = _step(r, m, h, sd, logw, w, normals[k, 0], normals[k, 1], phi, q_m, q_h, out[t])
        if ess < 0.5 * m.shape[0]:
            _resample(m, h, sd, logw, w, scratch, uniforms[k])
        step += 1
    return step


class ParticleFilter:
    """Streaming filter: ``update(close)`` per bar -> (drift, drift_std, vol), NaN in warm-up."""

    def __init__(self, config: ParticleFilterConfig) -> None:
        self.config = config
        n = config.particles
        noise_seed, resample_seed = np.random.SeedSequence(config.seed).spawn(2)
        self._noise_rng = np.random.default_rng(noise_seed)
        self._resample_rng = np.random.default_rng(resample_seed)
        self._grid = ndtri((np.arange(n) + 0.5) / n).astype(np.float64)
        self._m = np.zeros(n)
        self._h = np.zeros(n)
        self._sd = np.zeros(n)
        self._logw = np.zeros(n)
        self._w = np.zeros(n)
        self._scratch = np.zeros(n)
        self._normals = np.zeros((0, 2, n))
        self._uniforms = np.zeros(0)
        self._offset = 0
        self._prev_close = math.nan
        self.steps = 0
        self._out = np.zeros((1, 3))

    def _next_block(self, steps: int) -> None:
        n = self.config.particles
        self._normals = self._noise_rng.standard_normal((steps, 2, n))
        self._uniforms = self._resample_rng.random(steps)
        self._offset = 0

    def update(self, close: float) -> tuple[float, float, float]:
        """Advance by one bar's close."""
        if math.isnan(self._prev_close):
            self._prev_close = close
            return math.nan, math.nan, math.nan
        if self._offset == len(self._uniforms):
            self._next_block(_STREAM_BLOCK)
        cfg = self.config
        self.steps = _run_block(
            np.array([close]),
            self._prev_close,
            self.steps,
            self._m,
            self._h,
            self._sd,
            self._logw,
            self._w,
            self._scratch,
            self._grid,
            self._normals,
            self._uniforms,
            self._offset,
            cfg.drift_persistence,
            cfg.drift_noise,
            cfg.logvar_noise,
            self._out,
        )
        self._offset += 1
        self._prev_close = close
        if self.steps < cfg.warmup:
            return math.nan, math.nan, math.nan
        return float(self._out[0, 0]), float(self._out[0, 1]), float(self._out[0, 2])

    def run(self, closes: Array) -> Array:
        """Filter a whole series from this state; an (n, 3) array of outputs (the batch path)."""
        closes = np.ascontiguousarray(closes, dtype=np.float64)
        out = np.full((len(closes), 3), np.nan)
        start = 0
        if math.isnan(self._prev_close) and len(closes):
            self._prev_close = float(closes[0])
            start = 1
        cfg = self.config
        first_output = self.steps
        t = start
        while t < len(closes):
            if self._offset == len(self._uniforms):
                self._next_block(_BATCH_BLOCK)
            take = min(len(self._uniforms) - self._offset, len(closes) - t)
            self.steps = _run_block(
                closes[t : t + take],
                self._prev_close,
                self.steps,
                self._m,
                self._h,
                self._sd,
                self._logw,
                self._w,
                self._scratch,
                self._grid,
                self._normals,
                self._uniforms,
                self._offset,
                cfg.drift_persistence,
                cfg.drift_noise,
                cfg.logvar_noise,
                out[t : t + take],
            )
            self._offset += take
            self._prev_close = float(closes[t + take - 1])
            t += take
        # Rows whose step count (1-based) is below the warm-up stay NaN.
        hidden = max(0, cfg.warmup - 1 - first_output)
        out[start : start + hidden] = np.nan
        return out


def particle_filter_batch(closes: Array, config: ParticleFilterConfig) -> Array:
    """Filter a whole series from a fresh state: an (n, 3) array (drift, drift_std, vol)."""
    return ParticleFilter(config).run(closes)
