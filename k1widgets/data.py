"""Data: a train/valid pair of loaders, fast loaders for in-memory tensors, and toy datasets.

``Data.fromDataset(dataset, batchSize=64)`` splits a dataset into training and validation batches.
Datasets held as tensors (`FunctionDataset`, ``torch.utils.data.TensorDataset``) are batched by
slicing the tensors once, which costs no more than slicing by hand; other map-style datasets are
batched item by item with torch's default collate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch

from k1widgets import display
from k1widgets.report import dataHtml, loaderHtml, loaderSummary
from k1widgets.report import dataSummary as _dataSummary

__all__ = ["Data", "DataLoader", "FunctionDataset"]


class DataLoader:
    """Iterates over batches ``(xb, yb, ...)``.

    Args:
        source: a tuple of equally long tensors (batched by slicing), a map-style dataset
            (``len`` and ``[i]``, batched with torch's default collate), or any iterable of batches.
        batchSize: samples per batch (ignored for an iterable of batches).
        shuffle: draw a new random order every epoch (in-memory tensors and datasets only).
        start, stop: the sample range of ``source`` this loader covers.
    """

    def __init__(
        self,
        source: Any,
        batchSize: int = 64,
        *,
        shuffle: bool = False,
        start: int = 0,
        stop: int | None = None,
    ) -> None:
        if isinstance(batchSize, bool) or not isinstance(batchSize, int) or batchSize < 1:
            msg = f"batchSize must be a whole number >= 1, got {batchSize!r}."
            raise ValueError(msg)
        self.batchSize, self.shuffle = batchSize, shuffle
        self._tensors: tuple[torch.Tensor, ...] | None = None
        self._dataset: Any = None
        self._iterable: Iterable[Any] | None = None
        self._batches: list[tuple[torch.Tensor, ...]] | None = None
        if isinstance(source, tuple | list) and source and all(isinstance(t, torch.Tensor) for t in source):
            n = len(source[0])
            if any(len(t) != n for t in source):
                lengths = [len(t) for t in source]
                msg = f"DataLoader's tensors must have the same length, got lengths {lengths}."
                raise ValueError(msg)
            stop = n if stop is None else stop
            self._tensors = tuple(t[start:stop] for t in source)
        elif hasattr(source, "__len__") and hasattr(source, "__getitem__"):
            self._dataset = source
            self._range = range(start, len(source) if stop is None else stop)
        elif isinstance(source, Iterable):
            self._iterable = source
        else:
            msg = f"DataLoader takes tensors, a dataset or an iterable of batches, got {type(source).__name__}."
            raise TypeError(msg)

    @property
    def nSamples(self) -> int | None:
        """Number of samples, where known."""
        if self._tensors is not None:
            return len(self._tensors[0])
        if self._dataset is not None:
            return len(self._range)
        return None

    def __len__(self) -> int:
        n = self.nSamples
        if n is not None:
            return math.ceil(n / self.batchSize)
        if hasattr(self._iterable, "__len__"):
            return len(self._iterable)  # type: ignore[arg-type]
        msg = "This DataLoader wraps an iterable without a length."
        raise TypeError(msg)

    def __iter__(self) -> Iterator[Any]:
        bs = self.batchSize
        if self._tensors is not None:
            if self.shuffle:
                perm = torch.randperm(len(self._tensors[0]))
                return (tuple(t[idx] for t in self._tensors) for idx in torch.split(perm, bs))
            if self._batches is None:  # views into the tensors, built once
                self._batches = list(zip(*(torch.split(t, bs) for t in self._tensors), strict=True))
            return iter(self._batches)
        if self._dataset is not None:
            return self._iterDataset()
        return iter(self._iterable)  # type: ignore[arg-type]

    def _iterDataset(self) -> Iterator[Any]:
        from torch.utils.data import default_collate

        idx = list(self._range)
        if self.shuffle:
            idx = [idx[i] for i in torch.randperm(len(idx)).tolist()]
        for i in range(0, len(idx), self.batchSize):
            yield default_collate([self._dataset[j] for j in idx[i : i + self.batchSize]])

    @property
    def sample(self) -> Any:
        """The first batch."""
        return next(iter(self))

    def __repr__(self) -> str:
        try:
            total = f"{len(self)} batches total"
        except TypeError:
            total = "unknown number of batches"
        return f"""DataLoader object. {total}, use...
- for data in dl: print(data)
- it = iter(dl); data = next(it)
- len(dl): to get dataloader's length
- dl.sample: to get a sample of the data"""

    def summary(self) -> dict[str, Any]:
        """Batch count, batch size, a batch's shapes and dtypes, and its first samples (plain data)."""
        return loaderSummary(self)

    def widget(self) -> Any:
        """A view of this loader: counts, shapes and dtypes, and a table of samples, batch by batch."""
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def _repr_html_(self) -> str:
        return loaderHtml(self.summary())


class Data:
    """Just a shell containing 2 loaders: ``.train`` and ``.valid``."""

    def __init__(self, train: Any, valid: Any) -> None:
        self.train = train if isinstance(train, DataLoader) or not _isTensorPair(train) else DataLoader(train)
        self.valid = valid if isinstance(valid, DataLoader) or not _isTensorPair(valid) else DataLoader(valid)

    @staticmethod
    def fromDataset(
        dataset: Any,
        batchSize: int = 64,
        *,
        trainFraction: float = 0.8,
        shuffle: bool = False,
    ) -> Data:
        """Splits a dataset by its samples: the first ``trainFraction`` of them train, the rest validate.

        The split falls on a batch boundary (the training share is rounded up to whole batches).

        Args:
            dataset: a `FunctionDataset`, a ``TensorDataset``, a tuple of equally long tensors, or any
                map-style dataset of samples (``len`` and ``[i]``, e.g. a list of ``(x, y)`` pairs).
                Not a loader that yields batches already: use ``Data(trainLoader, validLoader)`` for those.
            batchSize: samples per batch.
            trainFraction: share of the batches used for training (rounded up), in (0, 1].
            shuffle: reshuffle the training samples every epoch.

        Example:
            >>> samples = [(torch.tensor([float(i)]), torch.tensor(float(i))) for i in range(1000)]
            >>> data = Data.fromDataset(samples, batchSize=64)
            >>> data.train.nSamples, data.valid.nSamples
            (832, 168)
        """
        if not 0 < trainFraction <= 1:
            msg = f"trainFraction must be in (0, 1], got {trainFraction!r}."
            raise ValueError(msg)
        if isinstance(batchSize, bool) or not isinstance(batchSize, int) or batchSize < 1:
            msg = f"batchSize must be a whole number >= 1, got {batchSize!r}."
            raise ValueError(msg)
        _refuseBatched(dataset)
        source: Any = _columns(getattr(dataset, "tensors", None)) or _columns(dataset)
        if source is not None:
            n = len(source[0])
        else:
            if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
                msg = (
                    f"Data.fromDataset needs a dataset with a length and [i] (map-style), got "
                    f"{type(dataset).__name__}. For an iterable of batches use Data(trainBatches, validBatches)."
                )
                raise TypeError(msg)
            n = len(dataset)
            source = _Samples(dataset)  # a list of samples is samples, even a list of tensors
        split = min(math.ceil(math.ceil(n / batchSize) * trainFraction) * batchSize, n)
        return Data(
            DataLoader(source, batchSize, shuffle=shuffle, stop=split),
            DataLoader(source, batchSize, start=split),
        )

    def summary(self) -> dict[str, Any]:
        """`DataLoader.summary` of ``.train`` and ``.valid``."""
        return _dataSummary(self)

    def widget(self) -> Any:
        """A view of both loaders: counts, shapes and dtypes, and tables of samples."""
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def _repr_html_(self) -> str:
        return dataHtml(self.summary())

    def __repr__(self) -> str:
        return "`Data` object, just a shell containing 2 `DataLoader`s: `.train` and `.valid`"


def _columns(x: Any) -> tuple[torch.Tensor, ...] | None:
    """``x`` as columns of samples (a tuple of equally long tensors, as ``TensorDataset.tensors``), else None."""
    if isinstance(x, tuple) and x and all(isinstance(t, torch.Tensor) and t.dim() > 0 for t in x):
        return x
    return None


def _refuseBatched(dataset: Any) -> None:
    """Loaders yield batches, not samples: splitting them by length would give the whole loader to both sides."""
    import torch.utils.data

    torchLoader = isinstance(dataset, torch.utils.data.DataLoader)
    if torchLoader or isinstance(dataset, DataLoader | Data):
        kind = "a torch DataLoader" if torchLoader else f"a {type(dataset).__name__}"
        msg = (
            f"Data.fromDataset takes a dataset of samples, got {kind}, which yields batches already. "
            "Use your loaders as they are: l.data = Data(trainDL, validDL)"
        )
        if torchLoader:
            msg += ", or split the samples: Data.fromDataset(dl.dataset, batchSize=64)"
        raise TypeError(msg + ".")


class _Samples:
    """A map-style dataset seen only through ``len`` and ``[i]`` (so a list of tensors is not taken for columns)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> Any:
        return self.dataset[i]


def _isTensorPair(x: Any) -> bool:
    return isinstance(x, tuple) and len(x) >= 2 and all(isinstance(t, torch.Tensor) for t in x)


class _Cached:
    """A class attribute computed on first access (so nothing is built on import)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self.build = build
        self.value: Any = None

    def __get__(self, obj: object, cls: type) -> Any:
        if self.value is None:
            self.value = self.build()
        return self.value


class FunctionDataset:
    """Samples of ``y = f(x)`` on an evenly spaced grid of x, in a fixed random order.

    ``FunctionDataset.exp`` (y = exp(x)), ``.identity`` (y = x), ``.sin``, ``.square``: 10 000
    bfloat16 samples with x in [-5, 5), as the seeds use.

    Args:
        f: the function, applied elementwise to a float64 tensor.
        low, high, step: the x grid ``arange(low, high, step)``.
        dtype: dtype of the stored tensors.
        seed: seed of the fixed permutation.
    """

    def __init__(
        self,
        f: Callable[[torch.Tensor], torch.Tensor],
        low: float = -5,
        high: float = 5,
        step: float = 1e-3,
        *,
        dtype: torch.dtype = torch.bfloat16,
        seed: int = 0,
    ) -> None:
        if not (step > 0 and high > low):
            msg = (
                f"FunctionDataset's grid is empty: arange({low}, {high}, {step}) has no points "
                "(need low < high and step > 0)."
            )
            raise ValueError(msg)
        x = torch.arange(low, high, step, dtype=torch.float64)
        if len(x) == 0:
            msg = f"FunctionDataset's grid is empty: arange({low}, {high}, {step}) has no points."
            raise ValueError(msg)
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        x = x[perm]
        self.x, self.y = x.to(dtype), f(x).to(dtype)
        self.tensors = (self.x, self.y)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]

    def __repr__(self) -> str:
        return f"FunctionDataset: {len(self)} samples, x and y of dtype {self.x.dtype}"

    exp = _Cached(lambda: FunctionDataset(torch.exp))
    identity = _Cached(lambda: FunctionDataset(lambda x: x))
    sin = _Cached(lambda: FunctionDataset(torch.sin))
    square = _Cached(lambda: FunctionDataset(torch.square))
