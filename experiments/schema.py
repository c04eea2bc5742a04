"""Columns of data/replication/runs.csv and data/replication/v1/runs.csv (torch-free, so the book and its tests can
read the schema without the training stack)."""

#: Column order of the run tables.
RUN_COLUMNS = [
    "run_id", "protocol", "objective", "split", "N", "total_params", "n_layers", "d_model",
    "n_heads", "d_head", "d_ff", "context", "vocab", "tokens", "epochs", "flops_per_token", "total_flops",
    "teacher_run_id", "teacher_N", "teacher_tokens", "teacher_loss", "teacher_ece",
    "teacher_inference_flops", "distill_lambda", "distill_tau", "distill_topk",
    "val_ce", "kl_to_teacher", "ece", "ece_vs_teacher", "top1_acc", "teacher_agreement",
    "train_ce_final", "val_curve", "copy_curve", "eval_tokens", "val_ce_by_source", "lr", "batch_size", "batch_tokens", "steps",
    "warmup_steps", "seed", "corpus_sha256", "git_rev", "gpu", "tokens_per_s", "model_flops_per_s", "wall_s",
    "compiled", "cuda_graph", "finished_utc",
]
#: Columns that version 2 added (version 1's table, data/replication/v1/runs.csv, lacks them).
V2_ADDED = ("d_head", "val_ce_by_source", "model_flops_per_s", "copy_curve")
#: Column order of version 1's table.
V1_COLUMNS = [c for c in RUN_COLUMNS if c not in V2_ADDED]

#: Columns that every row must fill (distillation-only columns may be empty for
#: supervised runs).
REQUIRED = [c for c in RUN_COLUMNS if c not in (
    "teacher_run_id", "teacher_N", "teacher_tokens", "teacher_loss", "teacher_ece",
    "teacher_inference_flops", "distill_lambda", "distill_tau", "distill_topk",
    "kl_to_teacher", "ece_vs_teacher", "teacher_agreement", "val_ce_by_source", "copy_curve")]
#: Columns that every distillation row must fill besides REQUIRED.
DISTILLATION_ONLY = [c for c in RUN_COLUMNS
                     if c not in REQUIRED and c not in ("val_ce_by_source", "copy_curve")]

#: Optional columns after RUN_COLUMNS, in the table of a sweep that shares teacher forward
#: passes (``experiments.sweep --share-teacher``): how many students shared the teacher's
#: forward pass, the group's id (its first student's run id) and the group's wall time
#: (experiments.train.train_group). A table without them is whole.
SHARE_COLUMNS = ["teacher_shared_by", "share_group", "group_wall_s"]


def header_ok(fieldnames, columns=RUN_COLUMNS) -> bool:
    """Whether a run table's header is ``columns``, alone or followed by SHARE_COLUMNS."""
    return list(fieldnames or ()) in (list(columns), list(columns) + SHARE_COLUMNS)
