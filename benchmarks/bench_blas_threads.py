"""One evaluation of the seed network's loss on one BLAS thread against the default threads.

Run it beside other CPU-bound work (`../shared/tools/busy python3 benchmarks/bench_blas_threads.py`)
to see what a finite-difference loop on a busy machine gets: the median and the 90th percentile of
300 timed calls per setting, each setting measured twice, interleaved.
"""

import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from harness import scratch
from harness.data import mnist_like_batch


def main() -> None:
    """Print the timings."""
    params = scratch.init_two_layer_params(784, 50, 10, weight_init_std=0.01, seed=0)
    x, t = mnist_like_batch(batch_size=100, seed=0)
    args = (params["W1"], params["b1"], params["W2"], params["b2"], x, t)
    default = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    for threads in (1, default, 1, default):
        with threadpool_limits(limits=threads, user_api="blas"):
            for _ in range(20):
                scratch.two_layer_loss(*args)
            times = []
            for _ in range(300):
                start = time.perf_counter()
                scratch.two_layer_loss(*args)
                times.append(time.perf_counter() - start)
        print(
            f"{threads} thread(s): median {np.median(times) * 1e3:.3f} ms, "
            f"90th percentile {np.percentile(times, 90) * 1e3:.3f} ms"
        )


if __name__ == "__main__":
    main()
