"""``svd_projection``: training-free class forgetting by projecting out forget-only activation directions.

Deep Unlearning (Kodge, Saha & Roy, TMLR 2024).
"""

from __future__ import annotations

import copy

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from auditor.errors import AuditFailedError
from auditor.plugin.context import SplitData, UnlearnInputs
from auditor.train.core import to_device
from auditor.train.steps import accuracy, first_per_class
from unlearners.base import Params, Unlearner


class SvdProjectionParams(Params):
    """Hyperparameters of :class:`SvdProjection`."""

    alpha_r: float | None = Field(
        None,
        gt=1,
        description=(
            "Scaling of the retain projector's energies. Official default for CIFAR-10 (VGG11-BN): 100 "
            "(CIFAR-100: 1000; ImageNet: 100), chosen there per dataset by a sweep on held-out data (legacy "
            "--val-set-mode over 10-1000, scored by retained x (1 - forgotten) accuracy; analysis/tune_our.py). "
            "Default (None): the same sweep over alpha_r_grid, scored the same way on val_samples training "
            "samples."
        ),
    )
    alpha_r_grid: tuple[float, ...] = Field(
        (10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 70.0, 100.0, 150.0, 200.0, 300.0, 500.0, 700.0, 1000.0),
        min_length=1,
        description=(
            "Candidates of the alpha_r sweep: the official legacy range 10-1000 at about three points per "
            "half-decade (the official grid is 10, 30, 100, 300, 1000). On digits' MLP the usable alpha_r lie "
            "between 30 and 100 (40: class forgotten, retain accuracy 0.035 below the references; 30: 0.053 "
            "below; 100: 14 % of the class still recognised), so the official grid's steps skip them."
        ),
    )
    alpha_f: float = Field(
        3.0,
        gt=1,
        description=(
            "Scaling of the forget projector's energies. Official default for CIFAR-10: 3 (CIFAR-100: 30; "
            "ImageNet: 10)."
        ),
    )
    retain_per_class: int = Field(
        100,
        ge=1,
        description=(
            "Retain samples per retained class whose activations are decomposed. Official: our_samples // "
            "(classes - 1) = 900 // 9 = 100 for CIFAR-10."
        ),
    )
    forget_samples: int = Field(
        900,
        ge=1,
        description=(
            "Forget-class samples in the one forget batch. Official: our_samples = 900 for CIFAR-10; digits has "
            "about 140 per class, so all of them are used."
        ),
    )
    val_samples: int = Field(
        10000,
        ge=2,
        description=(
            "Training samples the alpha_r sweep is scored on. Official legacy --val-set-mode: 10,000 random "
            "samples of the training set, the forgotten class's share capped at a tenth (all of its samples "
            "when it has fewer); the rest random retain samples."
        ),
    )
    max_patches: int = Field(
        10000,
        ge=1,
        description=(
            "At most this many unfolded patches (columns) per conv layer. Official our_max_patches: 10000."
        ),
    )
    batch_size: int = Field(256, ge=1, description="Forward-pass batch size while collecting activations.")


class _Collector:
    """Forward pre-hooks that gather each Conv2d / Linear layer's input as columns of a matrix."""

    def __init__(self, model: nn.Module, *, max_patches: int, generator: torch.Generator) -> None:
        self.layers = {name: m for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
        for name, m in self.layers.items():
            if isinstance(m, nn.Conv2d) and m.groups != 1:
                raise AuditFailedError(
                    f"svd_projection cannot project the grouped convolution {name!r} (groups={m.groups}): its "
                    "weight does not act on the full unfolded input. Use a method that trains instead "
                    "(e.g. unsir, scrub or salun)."
                )
            if isinstance(m, nn.Conv2d) and m.padding_mode != "zeros":
                raise AuditFailedError(
                    f"svd_projection supports zero padding only; {name!r} uses {m.padding_mode!r}"
                )
        self.max_patches = max_patches
        self.generator = generator
        self.columns: dict[str, list[torch.Tensor]] = {name: [] for name in self.layers}
        self._handles = [m.register_forward_pre_hook(self._hook(name)) for name, m in self.layers.items()]

    def _hook(self, name: str):
        def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            self.columns[name].append(_columns(module, args[0].detach(), generator=self.generator).cpu())

        return hook

    def matrices(self) -> dict[str, torch.Tensor]:
        """Layer name -> (d, n) activation matrix, at most ``max_patches`` random columns."""
        out = {}
        for name, parts in self.columns.items():
            r = torch.cat(parts, dim=1)
            if r.shape[1] > self.max_patches:
                keep = torch.randperm(r.shape[1], generator=self.generator)[: self.max_patches]
                r = r[:, keep]
            out[name] = r
        return out

    def close(self) -> None:
        for h in self._handles:
            h.remove()


def _conv_padding(conv: nn.Conv2d) -> tuple[int, int]:
    if isinstance(conv.padding, str):
        if conv.padding == "valid":
            return (0, 0)
        # "same" (stride 1): PyTorch pads (dilation * (k - 1)) // 2 before; odd kernels are symmetric.
        return tuple(d * (k - 1) // 2 for d, k in zip(conv.dilation, conv.kernel_size))  # type: ignore[return-value]
    return conv.padding  # type: ignore[return-value]


def _columns(module: nn.Module, x: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
    """The layer's input as column vectors: patch vectors for a conv, feature vectors for a linear."""
    if isinstance(module, nn.Linear):
        return x.reshape(-1, x.shape[-1]).T
    if not isinstance(module, nn.Conv2d):
        raise TypeError(f"svd_projection collects Conv2d and Linear inputs only, not {type(module).__name__}")
    conv = module
    kh, kw = conv.kernel_size
    h, w = x.shape[-2:]
    # The official code crops a random 3k x 3k window of large maps before unfolding (fewer patches).
    ch, cw = 3 * kh, 3 * kw
    if h > ch and w > cw:
        top = int(torch.randint(0, h - ch + 1, (1,), generator=generator))
        left = int(torch.randint(0, w - cw + 1, (1,), generator=generator))
        x = x[..., top : top + ch, left : left + cw]
    patches = F.unfold(
        x,
        kernel_size=conv.kernel_size,
        dilation=conv.dilation,
        padding=_conv_padding(conv),
        stride=conv.stride,
    )  # (N, C*kh*kw, L), weight.view(out, -1) order
    return patches.permute(1, 0, 2).reshape(patches.shape[1], -1)


def retained_score(retained: float, forgotten: float) -> float:
    """The sweep's score: retained-class accuracy x (1 - forgotten-class accuracy).

    The official code's ``metric_function`` (``utils.py``), with which its legacy sweep and
    ``analysis/tune_our.py`` choose alpha: it rewards keeping the retained classes and forgetting the
    class together, and is 0 for a model that still knows the class perfectly or lost everything.
    """
    return retained * (1.0 - forgotten)


def scaled_basis(r: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(U, lambda)`` of the scaled projector ``M = U diag(lambda) U^T`` of activations ``r`` (d, n).

    ``lambda_i = alpha s_i / ((alpha - 1) s_i + 1)`` with ``s_i = sigma_i^2 / sum sigma^2`` (Kodge et
    al., Eq. 3): energy mapped into [0, 1], large alpha pushing every non-trivial direction to 1.
    """
    u, sigma, _ = torch.linalg.svd(r.double(), full_matrices=False)
    energy = sigma.pow(2)
    s = energy / energy.sum().clamp_min(1e-300)
    return u, alpha * s / ((alpha - 1) * s + 1)


def scaled_projector(r: torch.Tensor, alpha: float) -> torch.Tensor:
    """The dense ``M = U diag(lambda) U^T`` (for checks; :func:`project` never forms it)."""
    u, lam = scaled_basis(r, alpha)
    return (u * lam) @ u.T


def project(
    weight_flat: torch.Tensor,
    retain: tuple[torch.Tensor, torch.Tensor],
    forget: tuple[torch.Tensor, torch.Tensor],
) -> torch.Tensor:
    """``W P^T`` with ``P = I - (M_f - M_f M_r)``, computed in the projectors' low-rank factors.

    ``W P^T = W - W M_f + W M_r M_f``; with ``M = U diag(l) U^T`` each product costs
    O(out x d x rank) instead of the O(d^3) of forming P (d is 4,608 for ResNet-18's last convs).
    """
    (u_r, l_r), (u_f, l_f) = retain, forget
    w_mf = ((weight_flat @ u_f) * l_f) @ u_f.T
    w_mr_mf = ((((weight_flat @ u_r) * l_r) @ (u_r.T @ u_f)) * l_f) @ u_f.T
    return weight_flat - w_mf + w_mr_mf


class SvdProjection(Unlearner[SvdProjectionParams]):
    """Deep Unlearning: project every layer's weights away from forget-only activation directions.

    Kodge, Saha & Roy, "Deep Unlearning: Fast and Efficient Gradient-free (Training-free) Approach
    to Class Forgetting", TMLR 2024 (arXiv 2312.00761); official code
    ``sangamesh-kodge/class_forgetting`` (``our_unlearn``). One forward pass of a few retain samples
    and one batch of forget samples through the original collects the input of every Conv2d and
    Linear layer (conv inputs unfolded into patch vectors with the layer's own stride, padding and
    dilation); an SVD of each gives scaled projectors M_r and M_f, the shared part is removed,
    ``P = I - (M_f - M_f M_r)``, and each weight becomes ``W_flat P^T``, first conv and classifier
    included. Biases and BatchNorm are untouched; no gradient step is taken.

    Threat model: white-box access to the model and a handful of samples. Data read:
    ``retain_per_class`` retain samples per retained class, up to ``forget_samples`` forget-class
    samples, and (only for the alpha_r sweep, the default) ``val_samples`` training samples as
    validation data (the retain and forget sets; no third-party data, so the population split stays
    clean for the audit's attacks).
    No augmentation. Model in eval mode throughout (BatchNorm statistics frozen).

    Scaling per dataset: the official code fixes alpha_r and alpha_f per dataset (CIFAR-10 100/3,
    CIFAR-100 1000/30, ImageNet 100/10), chosen by a sweep of alpha_r over 10-1000 on 10,000
    training samples scored by retained x (1 - forgotten) accuracy (legacy ``--val-set-mode``;
    ``utils.metric_function``). Here that sweep runs for each request (alpha_f fixed at CIFAR-10's
    3), with the same score and the same kind of validation data, on a finer grid: on digits' MLP
    the official grid's 30 cost 0.053 retain accuracy and its 100 left 14 % of the class, while 40
    to 50 forget it within 0.035. The forget batch is a seeded random one, as the official loader
    shuffles before taking it.

    Class forgetting only: the projection removes directions that only the forgotten class
    excites, which a random subset of a class's samples does not have.
    Grouped convolutions are refused. The official ResNet-50 code's Bottleneck bug (alpha passed as
    max_samples, conv3 stored under conv2) is not copied: every layer is handled the same way here.

    Diagnostics (``method.diagnostics`` in the evidence): ``alpha_f``; ``sweep``, each alpha_r tried
    with the retained- and forgotten-class accuracy it gave on the validation data; ``alpha_r``,
    the value used.
    """

    name = "svd_projection"
    summary = "Training-free: SVD of layer activations, project weights off forget-only directions."
    citation = "Kodge, Saha & Roy, Deep Unlearning: Fast and Efficient Gradient-free Approach to Class Forgetting, TMLR 2024."
    supports = frozenset({"class"})

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        p = self.params
        device = inputs.device
        model.to(device).eval()
        retain, forget = first_per_class(inputs.retain(), p.retain_per_class), inputs.forget()
        gen = inputs.generator("svd_projection/patches")
        # One random batch of the forget set (the official loader shuffles and takes its first batch).
        batch = torch.randperm(len(forget), generator=inputs.generator("svd_projection/forget"))
        r_acts = self._activations(model, retain.x, gen)
        f_acts = self._activations(model, forget.x[batch[: p.forget_samples]], gen)
        bases_r = {name: torch.linalg.svd(r.double(), full_matrices=False)[:2] for name, r in r_acts.items()}
        bases_f = {name: scaled_basis(f, p.alpha_f) for name, f in f_acts.items()}
        inputs.note("alpha_f", p.alpha_f)
        if p.alpha_r is not None or len(p.alpha_r_grid) == 1:
            alpha_r = p.alpha_r if p.alpha_r is not None else p.alpha_r_grid[0]
            self._project(model, bases_r, bases_f, alpha_r)
            inputs.note("sweep", [])
            inputs.note("alpha_r", alpha_r)
            return model.eval()
        kept_val, gone_val = self._validation(inputs, forget)
        sweep: list[dict[str, float | int]] = []
        best: tuple[float, float, nn.Module] | None = None
        for i, alpha_r in enumerate(p.alpha_r_grid, start=1):
            inputs.progress(i, len(p.alpha_r_grid))
            trial = copy.deepcopy(model)
            self._project(trial, bases_r, bases_f, alpha_r)
            kept = accuracy(trial, kept_val, device=device)
            forgot = accuracy(trial, gone_val, device=device) if len(gone_val) else 0.0
            sweep.append(
                {
                    "alpha_r": alpha_r,
                    "retained_accuracy": round(kept, 4),
                    "forgotten_accuracy": round(forgot, 4),
                    "n": len(kept_val) + len(gone_val),
                }
            )
            score = retained_score(kept, forgot)
            if best is None or score > best[0]:
                best = (score, alpha_r, trial)
        assert best is not None
        inputs.note("sweep", sweep)
        inputs.note("alpha_r", best[1])
        return best[2].eval()

    def _validation(self, inputs: UnlearnInputs, forget: SplitData) -> tuple[SplitData, SplitData]:
        """The sweep's validation samples, retained and forgotten classes (official legacy val-set-mode).

        ``val_samples`` training samples: the forget set's samples up to a tenth of them (a seeded random
        tenth when it has more), the rest a seeded random subset of the retain set.
        """
        n_forget = min(len(forget), max(1, self.params.val_samples // 10))
        pick = torch.randperm(len(forget), generator=inputs.generator("svd_projection/val"))[:n_forget]
        gone = _subset(forget, torch.zeros(len(forget), dtype=torch.bool).index_fill_(0, pick, True))
        kept = inputs.retain(max_samples=self.params.val_samples - n_forget)
        return kept, gone

    def _project(
        self,
        model: nn.Module,
        bases_r: dict[str, tuple[torch.Tensor, torch.Tensor]],
        bases_f: dict[str, tuple[torch.Tensor, torch.Tensor]],
        alpha_r: float,
    ) -> None:
        layers = dict(model.named_modules())
        with torch.no_grad():
            for name, (u, sigma) in bases_r.items():
                energy = sigma.pow(2)
                s = energy / energy.sum().clamp_min(1e-300)
                retain = (u, alpha_r * s / ((alpha_r - 1) * s + 1))
                weight = layers[name].weight
                flat = weight.detach().reshape(weight.shape[0], -1).double().cpu()
                new = project(flat, retain, bases_f[name])
                weight.copy_(new.reshape(weight.shape).to(weight.dtype))

    def _activations(
        self, model: nn.Module, x: torch.Tensor, gen: torch.Generator
    ) -> dict[str, torch.Tensor]:
        collector = _Collector(model, max_patches=self.params.max_patches, generator=gen)
        device = next(model.parameters()).device
        try:
            with torch.no_grad():
                for start in range(0, len(x), self.params.batch_size):
                    model(to_device(x[start : start + self.params.batch_size], device))
            return collector.matrices()
        finally:
            collector.close()


def _subset(split: SplitData, mask: torch.Tensor) -> SplitData:
    """The samples of ``split`` where ``mask`` is True."""
    return SplitData(x=split.x[mask], y=split.y[mask], indices=split.indices[mask.numpy()])
