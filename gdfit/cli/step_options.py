"""Command-line options of the step policies and the extra stopping rules, for any command.

Each alias is an ``Annotated`` Typer option; a command declares ``wolfe_c1: WolfeC1Option =
None`` and passes the values on to :func:`gdfit.steps.make_step` (step options, None meaning
"the policy's default" and an error for a policy that does not take it) or to
:func:`gdfit.stopping.build_extra_rules` (stop options, 0 meaning off).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gdfit.choices import BBVariant, NesterovRestart, TrustRegionMethod
from gdfit.cli.common import STEP, STOP


def _step(option: str, text: str, **kw: Any) -> Any:
    return typer.Option(option, help=text, rich_help_panel=STEP, show_default=False, **kw)


def _stop(option: str, text: str, **kw: Any) -> Any:
    return typer.Option(option, help=text, rich_help_panel=STOP, **kw)


STEP_HELP = ("How each step is chosen (gdfit steps lists every policy with its formula and "
             "defaults): cg (the default: conjugate gradient, not plain gradient descent; no "
             "tuning), exact (steepest descent, exact line search), backtracking (Armijo), wolfe "
             "(strong Wolfe line search), lipschitz (α = 1/L), bb (Barzilai–Borwein), "
             "trust-region, momentum, "
             "nesterov, adam, adagrad, rmsprop, decay (α₀/t^p), fixed (constant α), norm "
             "(steps of fixed length α).")
ALPHA_HELP = ("α: the step for fixed and momentum (default 0.01) and nesterov (default "
              "1/L); the step length for norm (0.01); the first trial for backtracking "
              "and wolfe (1); the first step for bb (default: the exact step); the learning "
              "rate of adam (0.01), adagrad (0.1), rmsprop (0.001); α₀ for decay (0.01).")

WolfeC1Option = Annotated[float | None, _step(
    "--wolfe-c1", "Wolfe: sufficient-decrease constant c₁ in (0, c₂) \\[default: 1e-4]")]
WolfeC2Option = Annotated[float | None, _step(
    "--wolfe-c2", "Wolfe: curvature constant c₂ in (c₁, 1) \\[default: 0.9]")]
BBVariantOption = Annotated[BBVariant | None, _step(
    "--bb-variant", "BB: bb1 (long step sᵀs/sᵀy), bb2 (short step sᵀy/yᵀy) or alternate "
    "\\[default: bb1]")]
BBMinOption = Annotated[float | None, _step(
    "--bb-min", "BB: smallest step allowed (safeguard) \\[default: 1e-30]")]
BBMaxOption = Annotated[float | None, _step(
    "--bb-max", "BB: largest step allowed (safeguard) \\[default: 1e30]")]
TRMethodOption = Annotated[TrustRegionMethod | None, _step(
    "--tr-method", "Trust region: cauchy (steepest descent capped by the radius) or dogleg "
    "(towards the Newton step; second-order) \\[default: cauchy]")]
TRRadiusOption = Annotated[float | None, _step(
    "--tr-radius", "Trust region: initial radius Δ₀ \\[default: 1]")]
TRMaxRadiusOption = Annotated[float | None, _step(
    "--tr-max-radius", "Trust region: largest radius Δ_max \\[default: 1e10]")]
TREtaOption = Annotated[float | None, _step(
    "--tr-eta", "Trust region: accept a step when ρ = actual/predicted decrease > η, η in "
    "\\[0, 0.25) \\[default: 0.15]")]
CGRestartOption = Annotated[int | None, _step(
    "--cg-restart", "CG: reset the direction to −∇f every N iterations; 0 never "
    "\\[default: 0]", metavar="N")]
MomentumBetaOption = Annotated[float | None, _step(
    "--momentum-beta", "Momentum: β in [0, 1) \\[default: 0.9]")]
NesterovRestartOption = Annotated[NesterovRestart | None, _step(
    "--nesterov-restart", "Nesterov: reset the momentum when the gradient test or the "
    "function test fails, or never \\[default: gradient]")]
AdamBeta1Option = Annotated[float | None, _step(
    "--adam-beta1", "Adam: decay β₁ of the gradient's running mean, in [0, 1) "
    "\\[default: 0.9]")]
AdamBeta2Option = Annotated[float | None, _step(
    "--adam-beta2", "Adam: decay β₂ of the squared gradient's running mean, in (0, 1) "
    "\\[default: 0.999]")]
EpsOption = Annotated[float | None, _step(
    "--eps", "Adam, AdaGrad, RMSProp: ε added to the denominator \\[default: 1e-8; AdaGrad "
    "1e-10]")]
RMSDecayOption = Annotated[float | None, _step(
    "--rms-decay", "RMSProp: decay ρ of the squared gradient's running mean, in [0, 1) "
    "\\[default: 0.9999]")]
DecayPowerOption = Annotated[float | None, _step(
    "--decay-power", "Decay: power p in (0, 1] of α_t = α₀/t^p \\[default: 0.25]")]
DecayNormOption = Annotated[bool, _step(
    "--decay-norm", "Decay: take steps of length α_t (α_t/‖∇f‖ times the gradient), the "
    "fixed-length step made convergent.")]

RelGradTolOption = Annotated[float, _stop(
    "--rel-grad-tol", "Stop when ‖∇f‖ ≤ this × its starting value (relative); 0 switches it "
    "off.")]
RelLossTolOption = Annotated[float, _stop(
    "--rel-loss-tol", "Stop when one iteration changes the loss by ≤ this × max(|loss|, 1); 0 "
    "switches it off.")]
ParamTolOption = Annotated[float, _stop(
    "--param-tol", "Stop when a step is ≤ this × (this + ‖θ‖) long (θ in the descent's "
    "coordinates); 0 switches it off.")]
PatienceOption = Annotated[int, _stop(
    "--patience", "Stop after N iterations in a row that did not lower the best loss by more "
    "than --patience-tol (as scikit-learn's n_iter_no_change); 0 switches it off.",
    metavar="N", min=0)]
PatienceTolOption = Annotated[float | None, _stop(
    "--patience-tol", "The improvement --patience asks for, absolute, in the loss the descent "
    "sees (MSE/var(y) under --scale standard) \\[default: 1e-4]", show_default=False)]
TimeLimitOption = Annotated[float, _stop(
    "--time-limit", "Stop after this many seconds of descent (a budget, like --max-iter); 0 "
    "switches it off.", metavar="SECONDS")]
