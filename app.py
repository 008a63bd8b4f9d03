"""Launch GAN Playground in the browser: `python app.py [--host H] [--port P] [--share] [--device D]`.

Works offline: the bundled digits, the 2D toy sets and the checkpoints in checkpoints/ need no
network. Hosting limits come from GP_* environment variables (see README, "Hosting limits").
On a Hugging Face Space this file is the entry point (`app_file: app.py`).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="GAN Playground: train, sample and inspect GANs.")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="address to listen on (0.0.0.0 for all interfaces; default 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
                   help="port to listen on (default 7860)")
    p.add_argument("--share", action="store_true",
                   help="also try a temporary public gradio.live link (needs internet)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                   help="default device for training and sampling (auto = GPU when present)")
    p.add_argument("--auth", metavar="USER:PASS", default=os.environ.get("GP_AUTH") or None,
                   help="require this user name and password to open the app (default: the "
                   "GP_AUTH environment variable, e.g. a Space secret; unset = no login)")
    p.add_argument("--checkpoints", default="checkpoints",
                   help="folder of bundled .safetensors checkpoints (default checkpoints/)")
    p.add_argument("--runs", default=os.environ.get("GP_RUNS_DIR") or None,
                   help="folder where every run is saved by itself, so that a reload or a "
                   "restart loses nothing (default: GP_RUNS_DIR, else ~/.cache/gan-playground/"
                   "runs)")
    return p.parse_args(argv)


def cpu_threads() -> int:
    """Torch threads for the app: OMP_NUM_THREADS when set, else one CPU fewer than torch's default
    would take (at least 1), so the web server's own work (encoding each live view) keeps a core.

    With one thread per core, every op waits for its slowest thread, and a thread that the OS
    descheduled for the server (or another program) stalls them all: on a busy 2-core machine,
    1 thread trained ring8 17x and mnist-dcgan 3x faster than 2 (README, "Performance").
    """
    import torch

    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(torch.get_num_threads(), (os.cpu_count() or 2) - 1))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            print("app.py: --auth (or GP_AUTH) must look like USER:PASS", file=sys.stderr)
            return 2
        auth = (user, password)
    import torch

    from playground.allocator import keep_freed_memory
    from playground.device import pick_device
    from playground.ui import Limits, build_app, launch_options

    torch.set_num_threads(cpu_threads())
    keep_freed_memory()  # reuse each step's buffers rather than fault in fresh pages

    try:
        limits = Limits.from_env()
        pick_device(args.device)  # fail now, in one line, if e.g. --device cuda has no GPU
    except ValueError as e:
        print(f"app.py: {e}", file=sys.stderr)
        return 2
    demo = build_app(device=args.device, limits=limits, checkpoints_dir=args.checkpoints,
                     runs_dir=args.runs)
    # Gradio prints a paragraph when the share link fails; capture its output and say it in one.
    chatter = io.StringIO()
    with contextlib.redirect_stdout(chatter):
        demo.launch(server_name=args.host, server_port=args.port, share=args.share, auth=auth,
                    prevent_thread_lock=True, **launch_options(limits))
    print(f"GAN Playground is running on {demo.local_url}", flush=True)
    if args.share:
        if demo.share_url:
            print(f"Public link: {demo.share_url}", flush=True)
        else:
            print("Could not create a share link (no internet?); serving locally only.",
                  flush=True)
    # A Space (or a `kill`) stops the app with SIGTERM: save every run first, as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        from playground.ui.session import REGISTRY

        REGISTRY.close_all()  # each session's run is saved into the runs folder, then freed
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
