"""Command line for practitioners: ``python -m analysis ...``.

Subcommands
-----------
``recipe``     compute-optimal distillation of a student under a budget (Eq. 10)
``loss``       evaluate the supervised law (Eq. 1) or the distillation law (Eq. 8)
``teacher``    the best teacher loss for a student and token budget (§5.2)
``crossover``  the budget from which supervised training is at least as good
``efficiency`` distillation's compute and tokens to reach a loss, relative to supervised
``decide``     distil or train supervised: the scenario that applies and the recipe's answer
``fig1``       errors of the distillation law on the paper's own runs (Fig. 1), by student
``break-even`` the smallest number of students from which a teacher trained for them pays
``given-teacher`` the student size and tokens for a teacher that exists, with capped data

``recipe``, ``crossover`` and ``efficiency`` take ``--students N`` (an integer or ``inf``):
the teacher's pretraining is shared by N students (``analysis.flops.SharedTeacher``);
``--shared-logits`` shares its logits too.

Every subcommand takes ``--coefficients paper`` (Table 6, the default) or
``--coefficients fig1-refit`` (Eq. 8 refitted to the paper's own Fig. 1 runs; see
``analysis.laws.COEFFICIENT_SETS``).

Sizes and budgets accept plain numbers (``3000000000``, ``1e22``) and the
suffixes K (1e3), M (1e6), B or G (1e9), T (1e12), P (1e15): ``3B``, ``500M``,
``20T``.

Output and errors follow the conventions of common Unix tools: results on stdout
(``--json``: strict JSON, no ``NaN`` or ``Infinity``; a value the law cannot give is
``null`` with a note), every error as one line on stderr naming the option the user
typed, and the exit status by kind of error (``EXIT_STATUS``):

* 0 success; 2 bad usage or an input out of range (argparse's convention);
* 1 a failure that is not the input's fault (a data table that is missing);
* 70 an unexpected internal error (``EX_SOFTWARE`` of sysexits.h);
* 74 the output could not be written (``EX_IOERR``: a full disk, ``> /dev/full``);
* 130 interrupted by Ctrl-C (128 + SIGINT), one line "interrupted";
* 141 the reader closed the pipe (``| head -c1``; 128 + SIGPIPE, as a shell reports
  a tool killed by it), silently.

Answers that are not interior optima of the fitted law say so: a ``note`` row (and
``notes`` in the JSON) when a recipe or teacher ends on an edge of its search box,
spends less than its budget or lies far outside the range the law was fitted on.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import warnings

from analysis._checks import shown
from analysis.flops import Scenario
from analysis.laws import COEFFICIENT_SETS, distilled_loss, supervised_loss, supervised_loss_infinite_data

#: Exit status by kind of outcome (module docstring).
EXIT_STATUS = {"ok": 0, "failure": 1, "usage": 2, "internal": 70, "output": 74,
               "interrupted": 130, "broken-pipe": 141}
PROG = "python -m analysis"

#: Library argument names -> the options a user types, for error messages.
_OPTION_NAMES = {"N_S": "--student", "C": "--compute", "D_S": "--tokens", "target_loss": "--target-loss",
                 "compute_range": "--min-compute/--max-compute", "L_T": "--teacher-loss",
                 "teacher_loss": "--teacher-loss", "N": "--params", "D": "--tokens",
                 "students_per_teacher": "--students-per-teacher", "teacher_params": "--teacher-params",
                 "max_tokens": "--max-tokens", "max_student": "--max-student",
                 "min_tokens_per_param": "--min-tokens-per-param", "students": "--students",
                 "max_students": "--max-students"}


class UsageError(Exception):
    """Bad input found after parsing: one line, exit status 2."""


class OutputError(Exception):
    """The result could not be written (not a closed pipe): exit status 74."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("distillation-scaling-book")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``prog: error: message (see 'prog --help')``."""

    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def _option_message(message: str, command: str) -> str:
    """A library message with its argument names replaced by the options typed:
    ``N_S must be ...`` -> ``--student must be ...``, ``C=1e10`` -> ``--compute 1e10``."""
    names = dict(_OPTION_NAMES)
    if command == "loss":
        names.update({"N_S": "--student", "D_S": "--tokens"})
    for name, option in names.items():
        message = re.sub(rf"(?<![\w,]){name}=", f"{option} ", message)
        message = re.sub(rf"^{name}\b", option, message)
    return message

_SUFFIXES = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12, "P": 1e15}
_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMBGTP]?)\s*$", re.IGNORECASE)


def _word(text) -> str:
    """``text`` after checking it is a string (a command-line word), for the argparse types
    below, which answer a bad word with argparse's ``ArgumentTypeError``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string (a word of the command line); got {shown(text)}")
    return text


def parse_size(text: str) -> float:
    """``'3B'`` -> 3e9, ``'500M'`` -> 5e8, ``'1e22'`` -> 1e22; positive and finite."""
    match = _SIZE_RE.match(_word(text))
    if not match:
        raise argparse.ArgumentTypeError(
            f"invalid size {shown(text)}: use a number such as 1e22 or 3000000000, optionally "
            f"with a suffix K, M, B, T or P (e.g. 3B, 500M, 20T)")
    value = float(match.group(1)) * _SUFFIXES.get(match.group(2).upper(), 1.0)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"invalid size {shown(text)}: must be positive and finite")
    return value


def parse_scenario(text: str) -> Scenario:
    """Scenario slug; ``...-and-inference`` is accepted for ``...+inference``."""
    try:
        return Scenario.parse(_word(text).replace("-and-", "+"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _loss_value(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid loss {shown(text)}: must be a number in nats/token") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"invalid loss {shown(text)}: must be positive and finite")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid count {shown(text)}: must be an integer >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid count {shown(text)}: must be an integer >= 1")
    return value


def _students(text: str):
    """An integer >= 1 or ``inf``."""
    if str(text).strip().lower() in ("inf", "infinity"):
        return math.inf
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of students {shown(text)}: must be an integer >= 1 "
                                         f"or inf") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid number of students {shown(text)}: must be an integer >= 1 or inf")
    return value


def _shared_scenario(args, default=Scenario.TEACHER_INFERENCE):
    """The scenario of ``--scenario``, its teacher shared by ``--students`` students.
    Without ``--scenario``, ``--students`` implies teacher pretraining + inference."""
    students = getattr(args, "students", None)
    shared_logits = getattr(args, "shared_logits", False)
    scenario = args.scenario
    if students is None and not shared_logits:
        return default if scenario is None else scenario
    if scenario is None:
        scenario = Scenario.TEACHER_PRETRAINING_AND_INFERENCE
    if not isinstance(scenario, Scenario) or scenario.delta_pretraining == 0:
        raise ValueError(f"--students and --shared-logits share the teacher's pretraining; scenario "
                         f"{shown(scenario.slug)} does not charge it (use teacher-pretraining or "
                         f"teacher-pretraining+inference)")
    return scenario.shared_by(1 if students is None else students, shared_logits=shared_logits)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _student_rows(args) -> list[tuple[str, str]]:
    """The two table rows naming the student, shared by the commands that take one."""
    return [("student parameters N_S", _fmt(args.student)), ("student tokens D_S", _fmt(args.tokens))]


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _setting(args):
    """The recipes' ``Setting`` of the chosen coefficient set (the paper's box and cost model)."""
    from analysis.recipes import Setting

    supervised, distillation = COEFFICIENT_SETS[args.coefficients]
    return Setting(supervised=supervised, distillation=distillation)


def _strict(value, path: str, notes: list):
    """``value`` with every non-finite float replaced by ``None`` (noted), so that the
    JSON is accepted by strict parsers."""
    if isinstance(value, dict):
        return {k: _strict(v, f"{path}.{k}" if path else str(k), notes) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v, f"{path}[{i}]", notes) for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        notes.append(f"{path} is {value!r} and is given as null")
        return None
    return value


def _emit(args, payload: dict, rows: list[tuple[str, str]], title: str, notes=()) -> None:
    """Print the result (a table, or JSON with ``--json``), with ``notes`` (sentences on
    what the answer means) as ``note`` rows or a ``notes`` list."""
    notes = [*payload.pop("notes", ()), *(n for n in notes if n not in payload.get("notes", ()))]
    payload = {**payload, "coefficients": args.coefficients}
    if args.json:
        extra = []
        payload = _strict(payload, "", extra)
        payload["notes"] = [*notes, *extra]
        text = json.dumps(payload, indent=2, sort_keys=False, allow_nan=False)
    else:
        rows = [*rows, ("coefficients", args.coefficients), *(("note", n) for n in notes)]
        text = "\n".join([title, "-" * len(title), _table(rows)])
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(exc.strerror or str(exc)) from None


def _range_notes(**values) -> list:
    """A note when sizes or token counts ({name: (kind, value)}) lie far outside the
    range the paper's laws were fitted on."""
    from analysis.recipes import EXTRAPOLATION_FACTOR, PAPER_SETTING

    far = PAPER_SETTING.extrapolated(**values)
    return [f"far outside the range the law was fitted on (more than {EXTRAPOLATION_FACTOR:g}x): "
            f"{', '.join(far)}"] if far else []


def cmd_recipe(args) -> None:
    from analysis.recipes import compute_optimal_distillation

    r = compute_optimal_distillation(args.student, args.compute, _shared_scenario(args), setting=_setting(args))
    shares = r.compute_shares
    rows = [
        ("student parameters N_S", _fmt(r.student_params)),
        ("compute budget C (FLOPs)", _fmt(r.compute)),
        ("student tokens D_S", _fmt(r.student_tokens)),
        ("teacher parameters N_T", _fmt(r.teacher_params)),
        ("teacher tokens D_T", _fmt(r.teacher_tokens)),
        ("teacher loss L_T (nats/token)", f"{r.teacher_loss:.4f}"),
        ("student loss L_S (nats/token)", f"{r.student_loss:.4f}"),
        ("supervised loss, same N_S and C", f"{r.supervised_loss:.4f}"),
        ("distillation beats supervised", "yes" if r.distillation_wins else "no"),
        ("FLOPs: student training", f"{_fmt(r.compute_split['student_training'])} ({shares['student_training']:.1%})"),
        ("FLOPs: teacher logits", f"{_fmt(r.compute_split['teacher_logits'])} ({shares['teacher_logits']:.1%})"),
        ("FLOPs: teacher pretraining", f"{_fmt(r.compute_split['teacher_pretraining'])} ({shares['teacher_pretraining']:.1%})"),
        ("FLOPs used (share of budget)", f"{_fmt(r.compute_used)} ({r.budget_spent:.1%})"),
    ]
    if r.scenario.delta_logits == 0 and r.scenario.delta_pretraining == 0:
        rows.append(("note", "best case: only L_T is fixed; N_T, D_T shown are the "
                             "compute-optimal teacher reaching it"))
    _emit(args, r.as_dict(), rows, f"Compute-optimal distillation ({r.scenario.label})")


def cmd_loss(args) -> None:
    sup_coef, dist_coef = COEFFICIENT_SETS[args.coefficients]
    if args.law == "supervised":
        loss = float(supervised_loss(args.params, args.tokens, sup_coef))
        floor = float(supervised_loss_infinite_data(args.params, sup_coef))
        payload = {"law": "supervised", "params": args.params, "tokens": args.tokens, "loss": loss,
                   "infinite_data_floor": floor}
        rows = [("parameters N", _fmt(args.params)), ("tokens D", _fmt(args.tokens)),
                ("loss L(N, D) (nats/token)", f"{loss:.4f}"),
                ("floor L(N, inf) (nats/token)", f"{floor:.4f}")]
        _emit(args, payload, rows, "Supervised scaling law (Eq. 1)",
              _range_notes(N=("params", args.params), D=("tokens", args.tokens)))
        return
    if args.teacher_loss is not None:
        teacher_loss = args.teacher_loss
    else:
        teacher_loss = float(supervised_loss(args.teacher_params, args.teacher_tokens, sup_coef))
    loss = float(distilled_loss(args.student, args.tokens, teacher_loss, dist_coef, sup_coef))
    sup = float(supervised_loss(args.student, args.tokens, sup_coef))
    payload = {"law": "distilled", "student_params": args.student, "student_tokens": args.tokens,
               "teacher_loss": teacher_loss, "student_loss": loss, "supervised_loss": sup}
    rows = [*_student_rows(args),
            ("teacher loss L_T (nats/token)", f"{teacher_loss:.4f}"),
            ("student loss L_S (nats/token)", f"{loss:.4f}"),
            ("supervised loss, same N_S, D_S", f"{sup:.4f}")]
    _emit(args, payload, rows, "Distillation scaling law (Eq. 8)",
          _range_notes(N_S=("params", args.student), D_S=("tokens", args.tokens)))


def cmd_teacher(args) -> None:
    from analysis.recipes import optimal_teacher_loss

    setting = _setting(args)
    choice = optimal_teacher_loss(args.student, args.tokens, setting=setting)
    sup = float(supervised_loss(args.student, args.tokens, setting.supervised))
    payload = {"student_params": args.student, "student_tokens": args.tokens,
               "teacher_loss": choice.teacher_loss, "student_loss": choice.student_loss,
               "supervised_loss": sup, "at_bound": choice.at_bound,
               "extrapolated": list(choice.extrapolated), "notes": list(choice.notes)}
    rows = [*_student_rows(args),
            ("best teacher loss L_T* (nats/token)", f"{choice.teacher_loss:.4f}"),
            ("student loss at L_T* (nats/token)", f"{choice.student_loss:.4f}"),
            ("supervised loss, same N_S, D_S", f"{sup:.4f}")]
    _emit(args, payload, rows, "Best teacher at a fixed token budget (§5.2)")


def cmd_crossover(args) -> None:
    from analysis.recipes import find_crossover

    if args.min_compute >= args.max_compute:
        raise UsageError(f"--min-compute ({_fmt(args.min_compute)}) must be below --max-compute "
                         f"({_fmt(args.max_compute)})")
    if args.students is None and not args.shared_logits:
        scenarios = list(Scenario) if args.scenario is None else [args.scenario]
    else:
        scenarios = [_shared_scenario(args)]
    setting = _setting(args)
    out = {sc.slug: find_crossover(args.student, sc, (args.min_compute, args.max_compute), setting=setting)
           for sc in scenarios}
    shown = {"inside": lambda c: _fmt(c.compute),
             "at-or-below-lower-end": lambda c: f"<= {_fmt(c.compute)} (supervised already at least as "
                                                f"good at --min-compute)",
             "above-upper-end": lambda c: f"never in range (distillation still wins at --max-compute)"}
    rows = [(sc, shown[c.status](c)) for sc, c in out.items()]
    payload = {"student_params": args.student, "compute_range": [args.min_compute, args.max_compute],
               "crossover_compute": {k: (None if math.isinf(c.compute) else c.compute) for k, c in out.items()},
               "crossover_status": {k: c.status for k, c in out.items()}}
    _emit(args, payload, rows,
          f"Budget (FLOPs) from which supervised training of N_S={_fmt(args.student)} is at least as good")


def cmd_efficiency(args) -> None:
    from analysis.recipes import efficiency_ratio

    e = efficiency_ratio(args.student, args.target_loss, _shared_scenario(args), setting=_setting(args))
    payload = {"scenario": e.scenario.slug, "student_params": e.student_params,
               "target_loss": e.target_loss, "distillation_compute": e.distillation_compute,
               "supervised_compute": e.supervised_compute, "compute_ratio": e.compute_ratio,
               "distillation_tokens": e.distillation_tokens, "supervised_tokens": e.supervised_tokens,
               "token_ratio": e.token_ratio, "at_bounds": list(e.at_bounds),
               "extrapolated": list(e.extrapolated), "notes": list(e.notes)}
    rows = [("student parameters N_S", _fmt(e.student_params)), ("target loss (nats/token)", f"{e.target_loss:.4f}"),
            ("distillation compute (FLOPs)", _fmt(e.distillation_compute)),
            ("supervised compute (FLOPs)", _fmt(e.supervised_compute)),
            ("compute ratio (distil / supervised)", f"{e.compute_ratio:.3f}"),
            ("distillation tokens D_S + d_pre D_T", _fmt(e.distillation_tokens)),
            ("supervised tokens", _fmt(e.supervised_tokens)),
            ("token ratio (distil / supervised)", f"{e.token_ratio:.3f}")]
    _emit(args, payload, rows, f"Efficiency of distillation ({e.scenario.label})")


def cmd_fig1(args) -> None:
    from analysis.data import load_fig1_points
    from analysis.paper_runs import error_summary, relative_errors

    points = load_fig1_points(corrected=not args.digitised)  # DataError: exit status 1
    supervised, distillation = COEFFICIENT_SETS[args.coefficients]
    table = error_summary(points, relative_errors(points, distillation, supervised))
    payload = {"labels": "digitised" if args.digitised else "corrected",
               "groups": {k: {c: float(v) for c, v in r.items()} for k, r in table.iterrows()}}
    rows = [(f"{k} ({int(r['runs'])} runs)",
             f"mean {r['mean']:+.2%}  mean |e| {r['mean |error|']:.2%}  max |e| {r['max |error|']:.2%}  "
             f"within 1%: {r['within 1%']:.0%}") for k, r in table.iterrows()]
    _emit(args, payload, rows, "Relative error of Eq. 8 on the paper's Fig. 1 runs "
                               "(predicted / observed - 1)")


def cmd_decide(args) -> None:
    from analysis.recipes import decide

    d = decide(args.student, args.compute, args.teacher_exists, args.students_per_teacher,
               setting=_setting(args))
    r = d.recipe
    payload = {"student_params": r.student_params, "compute": r.compute,
               "teacher_exists": args.teacher_exists, "students_per_teacher": args.students_per_teacher,
               "scenario": d.scenario.slug, "route": d.route, "gain": d.gain, "recipe": r.as_dict(),
               "notes": list(r.notes)}
    rows = [("student parameters N_S", _fmt(r.student_params)),
            ("compute budget C (FLOPs)", _fmt(r.compute)),
            ("teacher exists", "yes" if args.teacher_exists else "no"),
            ("students per teacher", str(args.students_per_teacher)),
            ("scenario", d.scenario.label),
            ("distilled student loss L_S (nats/token)", f"{r.student_loss:.4f}"),
            ("supervised loss, same N_S and C", f"{r.supervised_loss:.4f}"),
            ("gain of distillation (nats/token)", f"{d.gain:+.4f}"),
            ("route", d.route)]
    _emit(args, payload, rows, "Should I distil?")


def cmd_break_even(args) -> None:
    from analysis.recipes import break_even_students

    base = Scenario.TEACHER_PRETRAINING_AND_INFERENCE if args.scenario is None else args.scenario
    b = break_even_students(args.student, args.compute, base=base, shared_logits=args.shared_logits,
                            max_students=args.max_students, setting=_setting(args))
    n = None if math.isinf(b.students) else b.students
    payload = {"student_params": b.student_params, "compute": b.compute, "base": b.base.slug,
               "shared_logits": b.shared_logits, "margin": b.margin, "students": n,
               "gain": None if n is None else b.gain, "gain_one_student": b.gain_one,
               "gain_infinitely_many": b.gain_limit, "beyond_search": b.beyond_search}
    if n is not None:
        answer = str(n)
    elif b.beyond_search:
        answer = f"more than {b.max_students} (beyond the search)"
    else:
        answer = "none: even a free teacher's logits do not pay"
    rows = [("student parameters N_S", _fmt(b.student_params)),
            ("compute per student C (FLOPs)", _fmt(b.compute)),
            ("teacher trained for the students", b.base.label + (", logits shared" if b.shared_logits else "")),
            ("break-even number of students", answer),
            ("gain at break-even (nats/token)", "-" if n is None else f"{b.gain:+.4f}"),
            ("gain with 1 student (nats/token)", f"{b.gain_one:+.4f}"),
            ("gain with infinitely many (nats/token)", f"{b.gain_limit:+.4f}"),
            ("margin (nats/token)", f"{b.margin:g}")]
    _emit(args, payload, rows, "Break-even number of students per teacher")


def cmd_given_teacher(args) -> None:
    from analysis.recipes import given_teacher_recipe

    setting = _setting(args)
    if args.teacher_loss is not None:
        teacher_loss = args.teacher_loss
    else:
        teacher_loss = float(supervised_loss(args.teacher_params, args.teacher_tokens, setting.supervised))
    r = given_teacher_recipe(args.teacher_params, teacher_loss, args.max_tokens, args.compute,
                             max_student=args.max_student, logits_paid=not args.logits_stored,
                             min_tokens_per_param=args.min_tokens_per_param, setting=setting)
    payload = {k: getattr(r, k) for k in r.__dataclass_fields__}
    payload["gain"] = r.gain
    limits = [name for name, on in [("data cap", r.data_binds), ("size cap", r.size_binds),
                                    ("min tokens per parameter", r.ratio_binds),
                                    ("edge of the search box", r.on_edge)] if on]
    rows = [("teacher parameters N_T", _fmt(r.teacher_params)),
            ("teacher loss L_T (nats/token)", f"{r.teacher_loss:.4f}"),
            ("data cap (tokens)", _fmt(r.max_tokens)),
            ("compute budget C (FLOPs)", _fmt(r.compute)),
            ("best student parameters N_S", _fmt(r.student_params)),
            ("student tokens D_S", _fmt(r.student_tokens)),
            ("student tokens per parameter", f"{r.tokens_per_param:.3g}"),
            ("student loss L_S (nats/token)", f"{r.student_loss:.4f}"),
            ("binding limits", ", ".join(limits) or "none (interior optimum)"),
            ("same student, supervised (nats/token)", f"{r.twin_loss:.4f}"),
            ("best supervised model N, D", f"{_fmt(r.supervised_params)}, {_fmt(r.supervised_tokens)}"),
            ("best supervised loss (nats/token)", f"{r.supervised_loss:.4f}"),
            ("gain of distillation over it", f"{r.gain:+.4f}")]
    _emit(args, payload, rows, "Distilling from a teacher you already have")


def build_parser() -> argparse.ArgumentParser:
    scen_help = ("compute scenario: best-case, teacher-inference, teacher-pretraining or "
                 "teacher-pretraining+inference (also ...-and-inference)")
    parser = _Parser(
        prog=PROG,
        description="Distillation scaling laws (Busbridge et al. 2025, arXiv 2502.08606): "
                    "evaluate the laws and compute-optimal recipes.",
        epilog="Sizes accept suffixes K, M, B, T, P (e.g. 3B, 500M, 20T) or plain numbers (1e22). "
               "Student and teacher sizes and token counts of the recipes lie in the paper's box "
               "[1e6, 1e17]. Exit status: 0 success, 1 failure (missing data), 2 bad usage or input, "
               "70 internal error, 74 output not written, 130 interrupted, 141 broken pipe.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_students(p):
        p.add_argument("--students", type=_students, default=None,
                       help="share the teacher's pretraining among this many students (an integer "
                            "or inf; the scenario must charge pretraining)")
        p.add_argument("--shared-logits", action="store_true",
                       help="the students distil on the same tokens and share one stored copy of "
                            "the teacher's logits")

    def add_common(p):
        p.add_argument("--json", action="store_true", help="print strict JSON instead of a table")
        p.add_argument("--coefficients", choices=list(COEFFICIENT_SETS), default="paper",
                       help="coefficient set: paper (Table 6) or fig1-refit (Eq. 8 "
                            "refitted to the paper's Fig. 1 runs; supervised law from Table 6) "
                            "(default: paper)")

    p = sub.add_parser("recipe", help="compute-optimal distillation under a FLOP budget",
                       description="Best student tokens, teacher size and teacher tokens for a student "
                                   "of --student parameters and a budget of --compute FLOPs (Eq. 10).")
    p.add_argument("--student", type=parse_size, required=True, help="student non-embedding parameters N_S in [1e6, 1e17], e.g. 3B")
    p.add_argument("--compute", type=parse_size, required=True,
                   help="total budget in FLOPs, e.g. 1e22; at least the cheapest recipe of the scenario, at most 1e40")
    p.add_argument("--scenario", type=parse_scenario, default=None,
                   help=scen_help + " (default: teacher-inference, or teacher-pretraining+inference "
                                    "with --students)")
    add_students(p)
    add_common(p)
    p.set_defaults(func=cmd_recipe)

    p = sub.add_parser("loss", help="evaluate the supervised or the distillation law",
                       description="Evaluate Eq. 1 (supervised) or Eq. 8 (distilled).")
    laws = p.add_subparsers(dest="law", required=True, metavar="LAW")
    ps = laws.add_parser("supervised", help="L(N, D), Eq. 1")
    ps.add_argument("--params", type=parse_size, required=True, help="non-embedding parameters N (> 0)")
    ps.add_argument("--tokens", type=parse_size, required=True, help="training tokens D (> 0)")
    add_common(ps)
    pd = laws.add_parser("distilled", help="L_S(N_S, D_S, L_T), Eq. 8",
                         description="Give the teacher either by its loss (--teacher-loss) or by "
                                     "its size and tokens (--teacher-params, --teacher-tokens).")
    pd.add_argument("--student", type=parse_size, required=True, help="student parameters N_S (> 0)")
    pd.add_argument("--tokens", type=parse_size, required=True, help="distillation tokens D_S (> 0)")
    pd.add_argument("--teacher-loss", type=_loss_value, help="teacher cross-entropy L_T (nats/token, at least 1e-30)")
    pd.add_argument("--teacher-params", type=parse_size, help="teacher parameters N_T (> 0)")
    pd.add_argument("--teacher-tokens", type=parse_size, help="teacher training tokens D_T (> 0)")
    add_common(pd)
    p.set_defaults(func=cmd_loss)

    p = sub.add_parser("teacher", help="best teacher loss for a student and token budget")
    p.add_argument("--student", type=parse_size, required=True, help="student parameters N_S in [1e6, 1e17]")
    p.add_argument("--tokens", type=parse_size, required=True, help="distillation tokens D_S in [1e6, 1e17]")
    add_common(p)
    p.set_defaults(func=cmd_teacher)

    p = sub.add_parser("crossover", help="budget from which supervised training is at least as good")
    p.add_argument("--student", type=parse_size, required=True, help="student parameters N_S in [1e6, 1e17]")
    p.add_argument("--scenario", type=parse_scenario, default=None, help=scen_help + " (default: all)")
    p.add_argument("--min-compute", type=parse_size, default=1e18, help="lower end of the search (FLOPs; default: 1e18)")
    p.add_argument("--max-compute", type=parse_size, default=1e27, help="upper end of the search (FLOPs, at most 1e40; default: 1e27)")
    add_students(p)
    add_common(p)
    p.set_defaults(func=cmd_crossover)

    p = sub.add_parser("efficiency", help="distillation cost to reach a loss, relative to supervised")
    p.add_argument("--student", type=parse_size, required=True, help="student parameters N_S in [1e6, 1e17]")
    p.add_argument("--target-loss", type=_loss_value, required=True, help="target loss (nats/token), above the student's floor L(N_S, inf) and reachable by distillation")
    p.add_argument("--scenario", type=parse_scenario, default=None,
                   help=scen_help + " (default: teacher-inference, or teacher-pretraining+inference "
                                    "with --students)")
    add_students(p)
    add_common(p)
    p.set_defaults(func=cmd_efficiency)

    p = sub.add_parser("fig1", help="errors of the law on the paper's own Fig. 1 runs",
                       description="Relative error of Eq. 8 with the chosen coefficients on the 354 "
                                   "distillation runs read off the paper's Fig. 1, by student size "
                                   "(needs the local data table; see shared/data/README.md).")
    p.add_argument("--digitised", action="store_true",
                   help="use the size labels as digitised instead of the corrected ones")
    add_common(p)
    p.set_defaults(func=cmd_fig1)

    p = sub.add_parser("decide", help="distil or train supervised: which scenario, which route",
                       description="The book's decision guide (When to distil): the scenario that applies "
                                   "to a student of --student parameters and a budget of --compute FLOPs, "
                                   "and whether compute-optimal distillation beats supervised training "
                                   "by more than 1e-3 nats/token.")
    p.add_argument("--student", type=parse_size, required=True, help="student parameters N_S in [1e6, 1e17]")
    p.add_argument("--compute", type=parse_size, required=True,
                   help="total budget in FLOPs, e.g. 1e22; at least the cheapest recipe of the scenario, at most 1e40")
    p.add_argument("--teacher-exists", action="store_true",
                   help="a suitable teacher exists or is served anyway (only its logits are paid)")
    p.add_argument("--students-per-teacher", type=_count, default=1,
                   help="students the teacher will serve, if it must be trained (default 1)")
    add_common(p)
    p.set_defaults(func=cmd_decide)

    p = sub.add_parser("break-even", help="smallest number of students from which a teacher trained for them pays",
                       description="The smallest number n of students, each of --student parameters with "
                                   "--compute FLOPs, from which distilling them from one teacher trained for "
                                   "all of them (each paying 1/n of its pretraining) beats supervised training "
                                   "of each student by more than 1e-3 nats/token.")
    p.add_argument("--student", type=parse_size, required=True, help="student parameters N_S in [1e6, 1e17]")
    p.add_argument("--compute", type=parse_size, required=True, help="budget per student in FLOPs, e.g. 1e22")
    p.add_argument("--scenario", type=parse_scenario, default=None,
                   help="teacher-pretraining+inference (default: each student pays its logits) or "
                        "teacher-pretraining (logits free)")
    p.add_argument("--shared-logits", action="store_true",
                   help="the students share one stored copy of the teacher's logits")
    p.add_argument("--max-students", type=_count, default=10**9, help="largest n searched (default 1e9)")
    add_common(p)
    p.set_defaults(func=cmd_break_even)

    p = sub.add_parser("given-teacher", help="student size and tokens for a teacher that exists, data capped",
                       description="The student size and tokens that minimise the distilled loss (Eq. 8) "
                                   "from an existing teacher of --teacher-params parameters and a known loss, "
                                   "with at most --max-tokens tokens of data and --compute FLOPs (student "
                                   "training plus the teacher's logits), compared with the best supervised "
                                   "model under the same limits.")
    p.add_argument("--teacher-params", type=parse_size, required=True, help="teacher parameters N_T")
    p.add_argument("--teacher-loss", type=_loss_value, help="teacher cross-entropy L_T (nats/token)")
    p.add_argument("--teacher-tokens", type=parse_size,
                   help="teacher training tokens D_T (L_T from Eq. 1 if --teacher-loss is not given)")
    p.add_argument("--max-tokens", type=parse_size, required=True, help="tokens of data the student may see")
    p.add_argument("--compute", type=parse_size, required=True, help="budget in FLOPs, e.g. 1e22")
    p.add_argument("--max-student", type=parse_size, default=None, help="largest student you can deploy")
    p.add_argument("--min-tokens-per-param", type=float, default=1.0,
                   help="fewest tokens per parameter allowed (default 1; below it the laws extrapolate)")
    p.add_argument("--logits-stored", action="store_true",
                   help="the teacher's logits on the data are already stored (not charged)")
    add_common(p)
    p.set_defaults(func=cmd_given_teacher)
    return parser


def _fail(kind: str, message: str | None) -> int:
    if message is not None:
        try:
            sys.stderr.write(message.splitlines()[0] + "\n")
            sys.stderr.flush()
        except OSError:
            pass
    return EXIT_STATUS[kind]


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv=None) -> int:
    """Run one command; returns the exit status (``EXIT_STATUS``), never raises for bad
    input, a closed pipe, a full disk or Ctrl-C. ``argv``: the words after the program
    name (default ``sys.argv[1:]``); anything but a list or tuple of strings is a
    ``TypeError`` (a caller's mistake, not a user's input)."""
    from analysis.data import DataError

    if argv is not None and (not isinstance(argv, (list, tuple)) or not all(isinstance(a, str) for a in argv)):
        raise TypeError(f"argv must be None or a list of strings (the command line's words); got {shown(argv)}")

    command = "analysis"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        command = args.command
        if args.command == "given-teacher" and (args.teacher_loss is None) == (args.teacher_tokens is None):
            raise UsageError("give either --teacher-loss or --teacher-tokens")
        if args.command == "loss" and args.law == "distilled":
            given = args.teacher_loss is not None
            pair = (args.teacher_params is not None, args.teacher_tokens is not None)
            if given == any(pair) or (not given and not all(pair)):
                raise UsageError("give either --teacher-loss or both --teacher-params and --teacher-tokens")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            args.func(args)
        for w in caught:
            _fail("ok", f"{PROG}: warning: {w.message}")
        return EXIT_STATUS["ok"]
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else _fail("usage", exc.code)
    except UsageError as exc:
        text = str(exc)
        if not text.startswith(PROG):
            text = f"{PROG} {command}: error: {text} (see '{PROG} {command} --help')"
        return _fail("usage", text)
    except ValueError as exc:
        return _fail("usage", f"{PROG} {command}: error: {_option_message(str(exc), command)} "
                              f"(see '{PROG} {command} --help')")
    except DataError as exc:
        return _fail("failure", f"{PROG} {command}: error: {exc}")
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_STATUS["broken-pipe"]
    except OutputError as exc:
        _silence_stdout()
        return _fail("output", f"{PROG} {command}: error: cannot write the output: {exc}")
    except KeyboardInterrupt:
        return _fail("interrupted", f"{PROG} {command}: interrupted")
    except Exception as exc:  # noqa: BLE001 (a bug: one line, not a traceback)
        return _fail("internal", f"{PROG} {command}: internal error: {type(exc).__name__}: {exc}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
