"""Data, DataLoader and FunctionDataset."""

from __future__ import annotations

import pytest
import torch

from k1widgets.data import Data, DataLoader, FunctionDataset


def test_function_dataset_exp_matches_the_seed():
    ds = FunctionDataset.exp
    assert len(ds) == 10000 and ds.x.dtype == torch.bfloat16
    assert ds is FunctionDataset.exp, "built once"
    xs = torch.sort(ds.x.float()).values
    assert xs[0] == -5 and xs[-1] == pytest.approx(5, abs=0.02)
    data = Data.fromDataset(ds, batchSize=64)
    assert (len(data.train), len(data.valid)) == (126, 31)
    assert data.train.nSamples + data.valid.nSamples == 10000


def test_loader_slices_tensors_and_covers_every_sample():
    x = torch.arange(10.0)
    dl = DataLoader((x, x * 2), batchSize=4)
    batches = list(dl)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert torch.equal(torch.cat([b[0] for b in batches]), x)
    assert torch.equal(dl.sample[1], torch.tensor([0.0, 2, 4, 6]))
    assert next(iter(dl))[0].data_ptr() == x.data_ptr(), "batches are views, not copies"


def test_shuffle_draws_a_new_order_every_epoch():
    x = torch.arange(1000.0)
    dl = DataLoader((x, x), batchSize=100, shuffle=True)
    a, b = torch.cat([b[0] for b in dl]), torch.cat([b[0] for b in dl])
    assert not torch.equal(a, b)
    assert torch.equal(torch.sort(a).values, x)


def test_map_style_dataset_and_iterables():
    class Squares:
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return torch.tensor([float(i)]), torch.tensor(float(i * i))

    data = Data.fromDataset(Squares(), batchSize=3, trainFraction=0.5)
    xb, yb = next(iter(data.train))
    assert xb.shape == (3, 1) and torch.equal(yb, torch.tensor([0.0, 1, 4]))
    assert (len(data.train), len(data.valid)) == (2, 2)

    class Batches:
        def __iter__(self):
            yield from [(1, 2), (3, 4)]

    it = DataLoader(Batches())
    assert list(it) == [(1, 2), (3, 4)]
    with pytest.raises(TypeError, match="without a length"):
        len(it)


def test_errors():
    with pytest.raises(ValueError, match="same length, got lengths \\[3, 2\\]"):
        DataLoader((torch.zeros(3), torch.zeros(2)))
    with pytest.raises(ValueError, match="batchSize must be a whole number >= 1, got 0"):
        Data.fromDataset(FunctionDataset.identity, batchSize=0)
    with pytest.raises(ValueError, match=r"trainFraction must be in \(0, 1\], got 1.5"):
        Data.fromDataset(FunctionDataset.identity, trainFraction=1.5)
    with pytest.raises(TypeError, match="takes tensors, a dataset or an iterable"):
        DataLoader(5)
    with pytest.raises(ValueError, match="grid is empty"):
        FunctionDataset(torch.exp, 1, 0)


def test_a_list_of_samples_splits_by_its_number_of_samples():
    samples = [(torch.tensor([float(i)]), torch.tensor(float(i))) for i in range(1000)]
    data = Data.fromDataset(samples, batchSize=64)
    assert (data.train.nSamples, data.valid.nSamples) == (832, 168)
    xb, yb = next(iter(data.valid))
    assert xb.shape == (64, 1) and yb[0] == 832.0
    unlabeled = [torch.full((3,), float(i)) for i in range(100)]  # samples, not two columns
    data = Data.fromDataset(unlabeled, batchSize=10)
    assert (data.train.nSamples, data.valid.nSamples) == (80, 20)
    assert next(iter(data.train)).shape == (10, 3)


def test_tensor_columns_and_tensor_datasets_split_alike():
    x = torch.arange(100.0)
    for ds in ((x, x * 2), torch.utils.data.TensorDataset(x, x * 2)):
        data = Data.fromDataset(ds, batchSize=10)
        assert (data.train.nSamples, data.valid.nSamples) == (80, 20)


def test_an_already_batched_loader_is_refused_with_the_fix():
    x = torch.arange(100.0)
    dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x), batch_size=10)
    with pytest.raises(TypeError, match=r"a torch DataLoader, which yields batches already.*Data\(trainDL, validDL\)"):
        Data.fromDataset(dl, batchSize=10)
    with pytest.raises(TypeError, match=r"Data\.fromDataset\(dl\.dataset, batchSize=64\)"):
        Data.fromDataset(dl)
    with pytest.raises(TypeError, match="got a DataLoader"):
        Data.fromDataset(DataLoader((x, x)))
    with pytest.raises(TypeError, match=r"needs a dataset with a length and \[i\]"):
        Data.fromDataset(iter([(x, x)]))
