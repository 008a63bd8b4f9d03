"""pick_device: "auto" prefers CUDA, then MPS, then CPU; a missing accelerator is a clear error."""
import pytest
import torch

from playground import device as device_mod
from playground.device import pick_device


def _fake_hardware(monkeypatch, cuda: bool, mps: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(device_mod, "_mps_available", lambda: mps)


@pytest.mark.parametrize("cuda, mps, expected", [
    (True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu"),
])
def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    _fake_hardware(monkeypatch, cuda, mps)
    assert pick_device("auto") == torch.device(expected)
    assert pick_device() == torch.device(expected)


def test_cpu_is_always_available(monkeypatch):
    _fake_hardware(monkeypatch, cuda=True, mps=True)
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("name", ["cuda", "mps"])
def test_missing_accelerator_is_a_clear_error(monkeypatch, name):
    _fake_hardware(monkeypatch, cuda=False, mps=False)
    with pytest.raises(ValueError, match=f"device='{name}'.*not available"):
        pick_device(name)


@pytest.mark.parametrize("name", ["cuda", "mps"])
def test_present_accelerator_is_returned(monkeypatch, name):
    _fake_hardware(monkeypatch, cuda=True, mps=True)
    assert pick_device(name) == torch.device(name)


def test_indexed_cuda_device(monkeypatch):
    _fake_hardware(monkeypatch, cuda=True, mps=False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert pick_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="'cuda:2'.*2 CUDA GPU"):
        pick_device("cuda:2")
    _fake_hardware(monkeypatch, cuda=False, mps=False)
    with pytest.raises(ValueError, match="'cuda:0'.*0 CUDA GPU"):
        pick_device("cuda:0")


@pytest.mark.parametrize("name", ["gpu", "CUDA", "", "tpu", "cuda:", "cuda:x"])
def test_unknown_name_is_rejected(name):
    with pytest.raises(ValueError, match="is not one of"):
        pick_device(name)


def test_real_hardware_agrees_with_torch():
    # No fakes: whatever this machine has, "auto" must name a device torch can allocate on.
    dev = pick_device("auto")
    assert torch.zeros(1, device=dev).device.type == dev.type
