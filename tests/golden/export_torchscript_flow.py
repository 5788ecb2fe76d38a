#!/usr/bin/env python3
"""Reference for tests/models/test_torchscript_velocity.cpp: a small PyTorch velocity field
v(x, t) exported with torch.jit.script, its velocities at given points and its IID Euler samples
(MATH §1: x_{k+1} = x_k + v(x_k, k/N)/N) from given initial noise, all in float32.

usage: export_torchscript_flow.py DIR
  reads  DIR/inputs.h5     x [n, d], t [n], x0 [m, d] (float32), attribute steps N
  writes DIR/flow.pt       the scripted module (attribute sample_shape = [d])
         DIR/reference.h5  v [n, d] = v(x, t), x1 [m, d] = Euler samples from x0
Exits 77 when torch or h5py is missing (the test then skips).
"""
import sys
from typing import List

try:
    import h5py
    import torch
except ImportError as missing:
    print(f"skip: {missing}")
    sys.exit(77)


class Velocity(torch.nn.Module):
    """MLP on (x, t, sin 2πt, cos 2πt) with SiLU and tanh: smooth and nonlinear in x and t."""

    sample_shape: List[int]

    def __init__(self, dim: int):
        super().__init__()
        self.sample_shape = [dim]
        self.first = torch.nn.Linear(dim + 3, 64)
        self.second = torch.nn.Linear(64, 64)
        self.last = torch.nn.Linear(64, dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = t.reshape(-1, 1).to(x.dtype)
        angle = 2.0 * torch.pi * t
        h = torch.cat([x, t, torch.sin(angle), torch.cos(angle)], dim=1)
        h = torch.nn.functional.silu(self.first(h))
        h = torch.tanh(self.second(h))
        return self.last(h) - 0.5 * x


def main(directory: str) -> None:
    torch.manual_seed(1234)
    with h5py.File(f"{directory}/inputs.h5", "r") as inputs:
        x = torch.from_numpy(inputs["x"][()])
        t = torch.from_numpy(inputs["t"][()])
        x0 = torch.from_numpy(inputs["x0"][()])
        steps = int(inputs.attrs["steps"])
    model = torch.jit.script(Velocity(x.shape[1]))
    model.save(f"{directory}/flow.pt")
    with torch.no_grad():
        v = model(x, t)
        state = x0.clone()
        for k in range(steps):
            time = torch.full((state.shape[0],), k / steps, dtype=state.dtype)
            state = state + model(state, time) * (1.0 / steps)
    with h5py.File(f"{directory}/reference.h5", "w") as reference:
        reference["v"] = v.numpy()
        reference["x1"] = state.numpy()


if __name__ == "__main__":
    main(sys.argv[1])
