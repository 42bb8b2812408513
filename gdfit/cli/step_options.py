"""Command-line options of the step policies and the extra stopping rules, for any command.

Each alias is an ``Annotated`` Typer option; a command declares ``wolfe_c1: WolfeC1Option =
None`` and passes the values on to :func:`gdfit.steps.make_step` (step options, None meaning
"the policy's default" and an error for a policy that does not take it) or to
:func:`gdfit.stopping.build_extra_rules` (stop options, 0 meaning off).

The per-policy step parameters are in the help panel :data:`~gdfit.cli.common.STEP_PARAMS`,
which ``--help`` lists by name only; their full help is :data:`STEP_OPTION_HELP`, which
``gdfit steps NAME`` prints for the policy NAME (with :data:`ALPHA_ROLE` for ``--alpha``).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, get_args

import typer

from gdfit.choices import BBVariant, NesterovRestart, TrustRegionMethod
from gdfit.cli.common import STEP_PARAMS, STOP

#: What α is for each policy that takes it (``gdfit steps NAME``; the defaults are the
#: policies' own, shown beside).
ALPHA_ROLE = {
    "fixed": "the step α", "momentum": "the step α", "nesterov": "the step α",
    "norm": "the first step length α₀ (kept until a step overshoots)",
    "backtracking": "the first trial step α₀",
    "wolfe": "the first trial step α₀", "bb": "the first step", "adam": "the learning rate α",
    "adagrad": "the learning rate α", "rmsprop": "the learning rate α",
    "decay": "α₀ in α_t = α₀/t^p",
}

#: The help of each per-policy step option (without its default, which each policy states).
STEP_OPTION_HELP = {
    "--armijo-c": "Backtracking: sufficient-decrease constant c in (0, 1).",
    "--shrink": "Backtracking: factor ρ in (0, 1) that shrinks α after each rejected trial.",
    "--wolfe-c1": "Wolfe: sufficient-decrease constant c₁ in (0, c₂).",
    "--wolfe-c2": "Wolfe: curvature constant c₂ in (c₁, 1).",
    "--bb-variant": "BB: bb1 (long step sᵀs/sᵀy), bb2 (short step sᵀy/yᵀy) or alternate.",
    "--bb-min": "BB: smallest step allowed (safeguard).",
    "--bb-max": "BB: largest step allowed (safeguard).",
    "--tr-method": "Trust region: cauchy (steepest descent capped by the radius) or dogleg "
                   "(towards the Newton step; second-order).",
    "--tr-radius": "Trust region: initial radius Δ₀.",
    "--tr-max-radius": "Trust region: largest radius Δ_max.",
    "--tr-eta": "Trust region: accept a step when ρ = actual/predicted decrease > η, η in "
                "[0, 0.25).",
    "--cg-restart": "CG: reset the direction to −∇f every N iterations; 0 never.",
    "--momentum-beta": "Momentum: β in [0, 1).",
    "--nesterov-restart": "Nesterov: reset the momentum when the gradient test or the "
                          "function test fails, or never.",
    "--adam-beta1": "Adam: decay β₁ of the gradient's running mean, in [0, 1).",
    "--adam-beta2": "Adam: decay β₂ of the squared gradient's running mean, in (0, 1).",
    "--eps": "Adam, AdaGrad, RMSProp: ε added to the denominator.",
    "--rms-decay": "RMSProp: decay ρ of the squared gradient's running mean, in [0, 1).",
    "--norm-shrink": "Norm: factor in (0, 1] that shortens the step length whenever a step of "
                     "that length would not lower the loss; 1 keeps it constant (the "
                     "tutorial's fixed-length step, which circles the minimum).",
    "--decay-power": "Decay: power p in (0, 1] of α_t = α₀/t^p.",
    "--decay-norm": "Decay: take steps of length α_t (α_t/‖∇f‖ times the gradient), the "
                    "fixed-length step made convergent.",
}


def _step(option: str, **kw: Any) -> Any:
    return typer.Option(option, help=STEP_OPTION_HELP[option], rich_help_panel=STEP_PARAMS,
                        show_default=False, **kw)


def _stop(option: str, text: str, **kw: Any) -> Any:
    return typer.Option(option, help=text, rich_help_panel=STOP, **kw)


STEP_HELP = ("How each step is chosen: cg (the default: conjugate gradient, no tuning), exact, "
             "backtracking, wolfe, lipschitz, bb, trust-region, momentum, nesterov, adam, "
             "adagrad, rmsprop, decay, fixed, norm. gdfit steps lists them with their "
             "formulas; gdfit steps NAME explains one and its options.")
ALPHA_HELP = ("α: the step, step length, first trial or learning rate, as the policy uses it "
              "(gdfit steps NAME says which, and its default).")

ArmijoCOption = Annotated[float | None, _step("--armijo-c")]
ShrinkOption = Annotated[float | None, _step("--shrink")]
WolfeC1Option = Annotated[float | None, _step("--wolfe-c1")]
WolfeC2Option = Annotated[float | None, _step("--wolfe-c2")]
BBVariantOption = Annotated[BBVariant | None, _step("--bb-variant")]
BBMinOption = Annotated[float | None, _step("--bb-min")]
BBMaxOption = Annotated[float | None, _step("--bb-max")]
TRMethodOption = Annotated[TrustRegionMethod | None, _step("--tr-method")]
TRRadiusOption = Annotated[float | None, _step("--tr-radius")]
TRMaxRadiusOption = Annotated[float | None, _step("--tr-max-radius")]
TREtaOption = Annotated[float | None, _step("--tr-eta")]
CGRestartOption = Annotated[int | None, _step("--cg-restart", metavar="N")]
MomentumBetaOption = Annotated[float | None, _step("--momentum-beta")]
NesterovRestartOption = Annotated[NesterovRestart | None, _step("--nesterov-restart")]
AdamBeta1Option = Annotated[float | None, _step("--adam-beta1")]
AdamBeta2Option = Annotated[float | None, _step("--adam-beta2")]
EpsOption = Annotated[float | None, _step("--eps")]
RMSDecayOption = Annotated[float | None, _step("--rms-decay")]
NormShrinkOption = Annotated[float | None, _step("--norm-shrink")]
DecayPowerOption = Annotated[float | None, _step("--decay-power")]
DecayNormOption = Annotated[bool, _step("--decay-norm")]

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
StallIterOption = Annotated[int | None, _stop(
    "--stall-iter", "Stop, not converged (exit 3, status stalled), after N iterations in a row "
    "without a new lowest loss or gradient norm (the full-data ones with --batch-size); 0 "
    "switches it off \\[default: 5000 while a tolerance is on]", metavar="N", min=0,
    show_default=False)]
TimeLimitOption = Annotated[float, _stop(
    "--time-limit", "Stop after this many seconds of descent (a budget, like --max-iter); 0 "
    "switches it off.", metavar="SECONDS")]

#: Every per-policy step option and its declaration (for ``gdfit steps NAME``).
STEP_OPTIONS: dict[str, Any] = {
    "--armijo-c": ArmijoCOption, "--shrink": ShrinkOption, "--wolfe-c1": WolfeC1Option,
    "--wolfe-c2": WolfeC2Option, "--bb-variant": BBVariantOption, "--bb-min": BBMinOption,
    "--bb-max": BBMaxOption, "--tr-method": TRMethodOption, "--tr-radius": TRRadiusOption,
    "--tr-max-radius": TRMaxRadiusOption, "--tr-eta": TREtaOption,
    "--cg-restart": CGRestartOption, "--momentum-beta": MomentumBetaOption,
    "--nesterov-restart": NesterovRestartOption, "--adam-beta1": AdamBeta1Option,
    "--adam-beta2": AdamBeta2Option, "--eps": EpsOption, "--rms-decay": RMSDecayOption,
    "--norm-shrink": NormShrinkOption, "--decay-power": DecayPowerOption,
    "--decay-norm": DecayNormOption,
}


def step_option_metavar(option: str) -> str:
    """What follows a step option on the command line: ``NUM``, ``N``, ``[a|b]``, or nothing
    for a flag (``--alpha`` is ``NUM``)."""
    if option not in STEP_OPTIONS:
        return "NUM"
    kind, info = get_args(STEP_OPTIONS[option])[:2]
    kinds = [k for k in get_args(kind) if k is not type(None)] or [kind]
    base = kinds[0]
    if getattr(info, "metavar", None):
        return str(info.metavar)
    if base is bool:
        return ""
    if isinstance(base, type) and issubclass(base, Enum):
        return "[" + "|".join(str(m.value) for m in base) + "]"
    return "N" if base is int else "NUM"
