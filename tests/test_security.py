"""What a stranger on a share link or a public Space cannot do (see SECURITY.md).

- read server files: Gradio's file route serves only its own cache (what the app produced or a
  visitor uploaded), never /etc/passwd, the code, /tmp, the checkpoints or a URL on the server's
  network; file inputs naming a server path are refused before any handler runs;
- point the app at server folders: no API setting and no field of an uploaded checkpoint can make
  it read (or download into) a path of the visitor's choosing;
- run code: nothing a visitor supplies is unpickled (checked in the source as well);
- get in at all, when GP_AUTH (or --auth) sets a login.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

import httpx
import pytest
import torch
from PIL import Image

from app_server import ROOT
from helpers import tiny
from reliability_app import AUTH, clear, gradio_cache, restricted_server, shared_server

from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from playground.checkpoint import save_checkpoint
from playground.train import Trainer


@pytest.fixture(scope="module")
def server():
    return shared_server()


@pytest.fixture(scope="module")
def client(server):
    c = Client(server.url, verbose=False)
    yield c
    c.close()


def fetch(server, target: str) -> httpx.Response:
    """GET Gradio's file route for `target` (a path or URL, sent as written)."""
    return httpx.get(f"{server.url}gradio_api/file={target}", timeout=30)


def raw_call(server, api_name: str, data: list, session_hash: str = "security-test") -> dict:
    """A queued call over plain HTTP, as any script could send it: {"event": ..., "data": ...}."""
    url = f"{server.url}gradio_api/call/{api_name}"
    event = httpx.post(url, json={"data": data, "session_hash": session_hash},
                       timeout=30).json()["event_id"]
    with httpx.stream("GET", f"{url}/{event}", timeout=120) as stream:
        lines = [line for line in stream.iter_lines() if line]
    kinds = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    payload = json.loads(lines[-1].removeprefix("data: "))
    return {"event": kinds[-1], "data": payload}


def file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


# ---------------------------------------------------------------------------------- file route
def test_file_route_refuses_everything_outside_gradios_cache(server, client, tmp_path):
    secret = Path(tempfile_dir()) / "gp-security-secret.txt"
    secret.write_text("not for you")
    try:
        targets = ["/etc/passwd", "/proc/self/environ", str(ROOT / "app.py"),
                   str(ROOT / "README.md"), "app.py", str(secret), str(tmp_path),
                   next(str(p) for p in (gradio_cache().parent / "checkpoints").iterdir()),
                   f"{gradio_cache()}/../../../../etc/passwd",
                   urllib.parse.quote(f"{gradio_cache()}/../../etc/passwd", safe=""),
                   "//etc/passwd", "~/.bashrc", "file:///etc/passwd",
                   f"http://127.0.0.1:{server.port}/gradio_api/info",  # the server's own network
                   "http://169.254.169.254/latest/meta-data/"]  # a cloud metadata service
        for target in targets:
            response = fetch(server, target)
            assert response.status_code in (403, 404), (target, response.status_code)
            assert "root:" not in response.text and "not for you" not in response.text
    finally:
        secret.unlink()
    # The control: what the app itself produced is served (so the refusals above mean something).
    _, png, _ = client.predict(model="tiny-mnist", seeds="0-3", api_name="/sample_grid")
    produced = raw_call(server, "sample_grid", ["tiny-mnist", "0-3", 1.0, "cycle"])
    assert produced["event"] == "complete"
    served = fetch(server, produced["data"][2]["path"])
    assert served.status_code == 200 and served.content == Path(png).read_bytes()


def tempfile_dir() -> str:
    import tempfile

    return tempfile.gettempdir()


def test_outputs_are_files_the_app_made_in_its_cache(server):
    cache = gradio_cache().resolve()
    outputs = [raw_call(server, "sample_grid", ["tiny-mnist", "1, 2", 1.0, "cycle"]),
               raw_call(server, "interpolate", ["tiny-mnist", 0, 1, 4, "lerp", 1.0, "cycle"])]
    paths = [item["path"] for out in outputs for item in out["data"] if isinstance(item, dict)]
    assert len(paths) == 4
    for path in paths:
        assert Path(path).resolve().is_relative_to(cache), path


def test_file_inputs_naming_server_paths_are_refused(server, client, tmp_path):
    checkpoint = next((gradio_cache().parent / "checkpoints").iterdir())
    picture = tmp_path / "server-side.png"
    Image.new("L", (28, 28), 255).save(picture)
    calls = [("upload_checkpoint", [file_data("/etc/passwd")]),
             ("load_checkpoint", [file_data(str(checkpoint))]),  # a real checkpoint, not uploaded
             ("score_image", ["tiny-mnist", file_data(str(picture)), "0"]),
             ("reset", None)]
    for api_name, data in calls:
        if data is None:  # the Train form: a zip "upload" that is really a server folder
            params = client.view_api(print_info=False, return_format="dict")[
                "named_endpoints"]["/reset"]["parameters"]
            data = [file_data("/usr/share") if p["parameter_name"] == "images_zip"
                    else "images" if p["parameter_name"] == "dataset"
                    else p["parameter_default"] for p in params]
        result = raw_call(server, api_name, data)
        assert result["event"] == "error", (api_name, result)
    assert "not uploaded by a user" in server.output()  # Gradio's own check refused them


def test_no_setting_can_point_the_app_at_server_folders(client):
    for settings, field in (({"dataset": "images", "path": "/usr/share/pixmaps"}, "path"),
                            ({"dataset": "cifar10", "data_root": "/"}, "data_root"),
                            ({"dataset": "kmnist", "download": True}, "download")):
        with pytest.raises(AppError) as info:
            client.predict("ring8", settings, api_name="/new_run")
        clear(str(info.value), rf"{field} cannot be set over the API")


def _crafted(tmp_path: Path, name: str, **data: object) -> Path:
    """A real checkpoint whose config names server places: an own-images folder, a data root."""
    trainer = Trainer(tiny("mnist-mlp", device="cpu"))
    path = save_checkpoint(trainer, tmp_path / f"{name}.safetensors")
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    config = json.loads(header["__metadata__"]["config"])
    config["data"].update(data)
    header["__metadata__"]["config"] = json.dumps(config)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + n:])
    return path


def test_uploaded_checkpoints_cannot_name_server_folders(server, tmp_path):
    secret = tmp_path / "secret-photos"
    secret.mkdir()
    for i in range(3):
        Image.new("L", (28, 28), 60 * i).save(secret / f"private-{i}.png")
    root = tmp_path / "data-root"
    root.mkdir()
    own = _crafted(tmp_path, "own", dataset="images", path=str(secret))
    download = _crafted(tmp_path, "download", dataset="kmnist", data_root=str(root), download=True)
    visitor = Client(server.url, verbose=False)
    try:
        # It still samples (no data needed) ...
        visitor.predict(file=handle_file(str(own)), api_name="/upload_checkpoint")
        visitor.predict(model="uploaded", seeds="0-3", api_name="/sample_grid")
        # ... but real images come only from this server's own data, never from the named folder.
        with pytest.raises(AppError) as info:
            visitor.predict(model="uploaded", count=16, api_name="/discriminator_report")
        clear(str(info.value), r"not on this server")
        assert str(secret) not in str(info.value)
        visitor.predict(checkpoint=handle_file(str(own)), api_name="/load_checkpoint")
        with pytest.raises(AppError, match="not on this server"):
            visitor.predict(2, "both", api_name="/train_steps")
        visitor.predict(file=handle_file(str(download)), api_name="/upload_checkpoint")
        with pytest.raises(AppError) as info:
            visitor.predict(model="uploaded", count=16, api_name="/discriminator_report")
        clear(str(info.value), r"kmnist .*not found")
        assert str(root) not in str(info.value)
        assert not any(root.iterdir()), "the server downloaded into a folder a file named"
    finally:
        visitor.close()


def test_error_messages_cannot_inject_html(client):
    with pytest.raises(AppError) as info:
        client.predict(model="tiny-mnist", seeds="<img src=x onerror=alert(1)>",
                       api_name="/sample_grid")
    assert "<img" not in str(info.value) and "&lt;img" in str(info.value)


# ---------------------------------------------------------------------------------- no unpickling
def test_the_source_never_unpickles():
    """No pickle.load(s), no torch.load without weights_only=True, no np.load(allow_pickle=True)."""
    sources = [ROOT / "app.py", *sorted((ROOT / "playground").rglob("*.py"))]
    found = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
            if (name.endswith(("pickle.load", "pickle.loads", "dill.load", "joblib.load"))
                    or name == "torch.load" and keywords.get("weights_only") != "True"
                    or name.endswith("load") and keywords.get("allow_pickle") == "True"
                    or name.endswith("Unpickler")):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, found
    assert len(sources) > 20  # the walk really covered the package


# ---------------------------------------------------------------------------------- launch options
def test_upload_cap_is_set_and_no_extra_paths_are_allowed(server):
    from playground.ui import launch_options
    from playground.ui.limits import Limits

    options = launch_options(Limits(max_upload_mb=7))
    assert options["max_file_size"] == 7 * 1024 * 1024
    assert not options.get("allowed_paths") and not options.get("static_paths")
    app_source = (ROOT / "app.py").read_text()
    assert "allowed_paths" not in app_source and "set_static_paths" not in app_source
    config = httpx.get(f"{server.url}config", timeout=30).json()
    assert config["max_file_size"] == 2 * 1024 * 1024  # GP_MAX_UPLOAD_MB=2 on this server
    too_big = b"\0" * (2 * 1024 * 1024 + 1)
    response = httpx.post(f"{server.url}gradio_api/upload",
                          files={"files": ("big.safetensors", too_big)}, timeout=60)
    assert response.status_code == 413


# ---------------------------------------------------------------------------------- login
@pytest.mark.slow
def test_gp_auth_puts_the_whole_app_behind_a_login():
    locked = restricted_server()
    for path in ("gradio_api/info", "config", "gradio_api/file=/etc/passwd"):
        assert httpx.get(locked.url + path, timeout=30).status_code in (401, 403), path
    with pytest.raises(Exception, match="credentials were not provided"):
        Client(locked.url, verbose=False)
    with pytest.raises(ValueError, match="Could not login"):
        Client(locked.url, auth=(AUTH[0], "wrong"), verbose=False)
    inside = Client(locked.url, auth=AUTH, verbose=False)
    try:
        assert inside.predict("ring8", {"steps": 10}, api_name="/new_run")["step"] == 0
    finally:
        inside.close()


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_malformed_login_is_refused_at_launch(how):
    args = ["--auth", "no-colon"] if how == "flag" else []
    env = {"PATH": "/usr/bin:/bin", "GP_AUTH": "no-colon"} if how == "env" else None
    done = subprocess.run([sys.executable, str(ROOT / "app.py"), "--port", "9", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == "app.py: --auth (or GP_AUTH) must look like USER:PASS"


def test_torch_itself_refuses_a_pickle_payload_with_weights_only(tmp_path):
    """The guard the source check relies on: weights_only=True never runs a pickled call."""
    marker = tmp_path / "RAN"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save(Payload(), tmp_path / "evil.pt")
    with pytest.raises(Exception):
        torch.load(tmp_path / "evil.pt", weights_only=True)
    assert not marker.exists()
