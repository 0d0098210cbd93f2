"""One student's kernel for the grader: its own folder, its own process group, a hard kill.

The kernel starts in a fresh temporary folder that holds only the submission, a read-only copy of
course_lib (and the data it loads), and its own HOME and TMPDIR; it never sees the course's
notebooks. Run as root (a container, CI), the kernel runs as the unprivileged user `nobody`, so
it cannot write anywhere outside its folder. Every cell and every call has a deadline; past it the
whole process group is killed (SIGKILL: a `while True` inside a bare `except:` cannot swallow it).
"""
import base64
import functools
import os
import pickle
import queue
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from grading_codec import MAX_BYTES
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

ROOT = Path(__file__).resolve().parent.parent
CODEC = Path(__file__).resolve().parent / "grading_codec.py"
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "OPENBLAS_CORETYPE")


class KernelDied(Exception):
    """The kernel exited (e.g. os._exit) or was killed after its deadline."""


@functools.lru_cache(maxsize=None)
def _unprivileged():
    """Return (uid, gid) of `nobody` when running as root and `nobody` can run this Python, else None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    import pwd

    try:
        p = pwd.getpwnam("nobody")
        probe = subprocess.run([sys.executable, "-c", "import ipykernel"], user=p.pw_uid, group=p.pw_gid,
                               extra_groups=[], cwd="/", capture_output=True, timeout=60)
    except (KeyError, OSError, subprocess.SubprocessError):
        return None
    return (p.pw_uid, p.pw_gid) if probe.returncode == 0 else None


def isolation():
    """Say how submissions are isolated on this machine (printed by the grader)."""
    if _unprivileged():
        return "each kernel runs as the user `nobody`: it cannot write outside its own folder"
    why = ("the user `nobody` cannot run this Python, e.g. it lives below /root" if os.name == "posix"
           and os.geteuid() == 0 else "only root can start kernels as the user `nobody`")
    return (f"each kernel runs as this user ({why}): verdicts are safe either way, but a submission could "
            "write into files this user owns; grade untrusted work in a container")


def _read_only(path):
    for p in [path, *path.rglob("*")]:
        p.chmod(stat.S_IREAD | stat.S_IRGRP | stat.S_IROTH | (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH if p.is_dir() else 0))


def remove(folder):
    """Delete a grading folder, read-only parts included."""
    def fix(func, p, _):
        os.chmod(p, stat.S_IRWXU)
        func(p)
    shutil.rmtree(folder, onerror=lambda f, p, e: (os.chmod(os.path.dirname(p), stat.S_IRWXU), fix(f, p, e)))


def prepare(folder, notebook, course_copy):
    """Fill a fresh folder: work/ (the submission only), home/, tmp/, and course/ (read-only course_lib + data)."""
    folder = Path(folder)
    for sub in ("work", "home", "tmp"):
        (folder / sub).mkdir(parents=True)
    shutil.copy(notebook, folder / "work" / Path(notebook).name)
    shutil.copytree(course_copy, folder / "course")
    _read_only(folder / "course")
    who = _unprivileged()
    if who:
        for sub in ("work", "home", "tmp"):
            for p in [folder / sub, *(folder / sub).rglob("*")]:
                os.chown(p, *who)
        for p in (folder.parent, folder):  # mkdtemp made the parent 0700: nobody must get through it
            os.chmod(p, 0o755)
    return folder


def snapshot_course(dest):
    """Copy course_lib and data/ once, before any submission runs."""
    shutil.copytree(ROOT / "course_lib", Path(dest) / "course_lib")  # with __pycache__: faster imports
    shutil.copytree(ROOT / "data", Path(dest) / "data")
    return Path(dest)


def kernel_env(folder):
    """The kernel's environment: nothing of the course's paths, its own HOME and temp folder, one thread."""
    env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    tmp, home = str(folder / "tmp"), str(folder / "home")
    env.update(PYTHONPATH=str(folder / "course"), HOME=home, TMPDIR=tmp, TEMP=tmp, TMP=tmp,
               IPYTHONDIR=str(folder / "home" / ".ipython"), MPLCONFIGDIR=str(folder / "home" / ".mpl"),
               JUPYTER_RUNTIME_DIR=tmp, MPLBACKEND="module://matplotlib_inline.backend_inline",
               PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


class Kernel:
    """A student's ipykernel in `folder` (made by `prepare`); run cells and call functions with deadlines."""

    def __init__(self, folder):
        self.folder, self.proc, self.client, self.calls = Path(folder), None, None, 0
        self.helper = "_grader_" + secrets.token_hex(6)

    def start(self, timeout=60):
        conn = self.folder / "tmp" / f"kernel-{secrets.token_hex(4)}.json"
        write_connection_file(str(conn), ip="127.0.0.1")
        who = _unprivileged()
        extra = dict(user=who[0], group=who[1], extra_groups=[]) if who else {}
        if who:
            os.chown(conn, *who)
        self.proc = subprocess.Popen([sys.executable, "-m", "ipykernel_launcher", "-f", str(conn)],
                                     cwd=self.folder / "work", env=kernel_env(self.folder), start_new_session=True,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     **extra)
        self.client = BlockingKernelClient(connection_file=str(conn))
        self.client.load_connection_file()
        self.client.start_channels(hb=False)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            msg_id = self.client.kernel_info()
            try:
                while self.client.get_shell_msg(timeout=1)["parent_header"].get("msg_id") != msg_id:
                    pass
                self._drain()
                return self._install_helper()
            except queue.Empty:
                continue
        self.kill()
        raise KernelDied("the kernel did not start")

    def _install_helper(self):
        code = f"{self.helper} = {{}}\nexec({CODEC.read_text()!r}, {self.helper})"
        if self.run(code, 60) != "ok":
            raise KernelDied("the grader's helper could not be installed in the kernel")

    def run(self, code, timeout):
        """Execute code; return 'ok', 'error', 'timeout' (the kernel is then killed) or 'died'."""
        msg_id = self.client.execute(code, silent=False, store_history=True, allow_stdin=False, stop_on_error=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._drain()
            try:
                reply = self.client.get_shell_msg(timeout=0.05)
            except queue.Empty:
                reply = None
            if reply and reply["parent_header"].get("msg_id") == msg_id:
                self._drain()
                return "ok" if reply["content"]["status"] == "ok" else "error"
            if self.proc.poll() is not None:
                self.kill()
                return "died"
        self.kill()
        return "timeout"

    def _drain(self):
        """Read and drop the kernel's outputs (a huge print costs time, never memory)."""
        while self.client.iopub_channel.msg_ready():
            self.client.get_iopub_msg(timeout=0)

    def call(self, name, args, kwargs, timeout):
        """Call the kernel's function `name`; return the raw answer text (the caller decodes it)."""
        request = base64.b64encode(pickle.dumps((args, kwargs))).decode()
        return self._ask("kernel_call", f"globals(), {name!r}, {request!r}", timeout)

    def value(self, expr, timeout):
        """Evaluate an expression of the student's (a checker's extra argument) in the kernel, as raw answer text."""
        return self._ask("kernel_value", f"globals(), {expr!r}", timeout)

    def _ask(self, func, arguments, timeout):
        self.calls += 1
        path = self.folder / "tmp" / f"{self.helper}-{self.calls}.json"
        status = self.run(f"{self.helper}[{func!r}]({arguments}, {str(path)!r})", timeout)
        if status in ("timeout", "died"):
            raise KernelDied(status)
        try:  # an answer larger than the codec accepts is not even read
            text = path.read_text() if path.stat().st_size <= MAX_BYTES else ""
        except OSError:
            text = ""
        path.unlink(missing_ok=True)
        return text

    def kill(self):
        """Kill the kernel's whole process group (SIGKILL) and close the channels."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, AttributeError):
                self.proc.kill()
        if self.proc:
            self.proc.wait()
        if self.client:
            self.client.stop_channels()
