"""One student's kernel for the grader: its own folder, its own process group, a hard kill.

The kernel starts in a fresh temporary folder that holds only the submission, a read-only copy of
course_lib (and the data it loads), and its own HOME and TMPDIR. On Linux, where `unshare` works
(as root, or for any user where user namespaces are enabled), the kernel also gets a root of its
own (`grading_sandbox.sh`): it sees the system's programs, this Python and its packages, all
read-only, and its folder; no course notebook, no .git, no home folder, no other process; it holds
no capability, and as root it runs as `nobody`. Elsewhere, run as root, it runs as `nobody` if
`nobody` can run this Python; otherwise as the grader's user, and the grader says so. Every cell and every call has a deadline; past it the
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
SANDBOX = Path(__file__).resolve().parent / "grading_sandbox.sh"
KERNEL_USER = object()  # prepare()'s default: whoever kernel_user() says
SYSTEM = ("/usr", "/etc", "/dev", "/proc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


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


def _nobody():
    import pwd

    p = pwd.getpwnam("nobody")
    return p.pw_uid, p.pw_gid


def visible_paths():
    """Return the SPEC lines of a sandboxed kernel: the system and this Python, read-only; no course file."""
    keep = [p for p in (*SYSTEM, sys.base_prefix, sys.prefix, *sys.path) if p and os.path.isdir(p)]
    keep = [p for p in keep if not Path(p).resolve().is_relative_to(ROOT) or Path(p).resolve().is_relative_to(Path(sys.prefix).resolve())]
    lines, dirs = [], []
    for p in dict.fromkeys(keep):
        if os.path.islink(p):  # /bin -> usr/bin on merged-/usr systems; a linked virtual environment
            lines.append(f"ln {p} {os.readlink(p)}")
        dirs.append(os.path.realpath(p))
    dirs = sorted(set(dirs))
    return lines + [f"ro {d}" for d in dirs if not any(d != o and d.startswith(o.rstrip("/") + "/") for o in dirs)]


def _sandbox_command(folder, user, command):
    """Wrap `command` so it runs in the sandbox of `folder` (see grading_sandbox.sh) as `user`."""
    spec = folder / "sandbox.spec"
    spec.write_text("\n".join(visible_paths() + [f"ro {folder / 'course'}"] +
                               [f"rw {folder / sub}" for sub in ("work", "home", "tmp")]) + "\n")
    userns = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    who = "same" if user is None else f"{user[0]}:{user[1]}"
    return ["unshare", *userns, "--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private",
            "sh", str(SANDBOX), str(folder / "root"), str(folder), str(spec), who, *command]


@functools.lru_cache(maxsize=None)
def _sandboxed():
    """Return True if a kernel can start in a sandbox here (probed once with this Python)."""
    if not sys.platform.startswith("linux") or not shutil.which("unshare") or not shutil.which("setpriv"):
        return False
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="course-grade-probe-"))
    try:
        who = _nobody() if os.geteuid() == 0 else None
        folder = prepare(base / "probe", None, None, user=who)
        cmd = _sandbox_command(folder, who, [sys.executable, "-c", "import ipykernel, os; os.listdir('.')"])
        probe = subprocess.run(cmd, capture_output=True, timeout=120, env=kernel_env(folder))
        return probe.returncode == 0
    except (KeyError, OSError, subprocess.SubprocessError):
        return False
    finally:
        remove(base)


def kernel_user():
    """Return the (uid, gid) the kernels run as, or None for the grader's own user."""
    if hasattr(os, "geteuid") and os.geteuid() == 0 and (_sandboxed() or _unprivileged()):
        return _nobody()
    return None


def isolation():
    """Say how submissions are isolated on this machine (printed by the grader)."""
    if _sandboxed():
        return ("each kernel runs in a root of its own: it sees this Python and the system read-only, and its "
                "own folder; no course notebook, no other file, no other process" +
                (", as the user `nobody`" if kernel_user() else ""))
    if _unprivileged():
        return "each kernel runs as the user `nobody`: it cannot write outside its own folder"
    why = ("the user `nobody` cannot run this Python, e.g. it lives below /root" if os.name == "posix"
           and os.geteuid() == 0 else "only root can start kernels as the user `nobody`")
    return (f"each kernel runs as this user ({why}): verdicts are safe either way, but a submission could "
            "read or write files this user can; grade untrusted work in a container")


def _read_only(path):
    for p in [path, *path.rglob("*")]:
        p.chmod(stat.S_IREAD | stat.S_IRGRP | stat.S_IROTH | (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH if p.is_dir() else 0))


def remove(folder):
    """Delete a grading folder, read-only parts included."""
    def fix(func, p, _):
        os.chmod(p, stat.S_IRWXU)
        func(p)
    shutil.rmtree(folder, onerror=lambda f, p, e: (os.chmod(os.path.dirname(p), stat.S_IRWXU), fix(f, p, e)))


def prepare(folder, notebook, course_copy, user=KERNEL_USER):
    """Fill a fresh folder: work/ (the submission only), home/, tmp/, course/ (read-only course_lib + data), root/.

    work/, home/ and tmp/ belong to `user` ((uid, gid) or None for the grader's; by default `kernel_user()`).
    """
    folder = Path(folder)
    for sub in ("work", "home", "tmp", "root"):
        (folder / sub).mkdir(parents=True)
    if notebook is not None:
        shutil.copy(notebook, folder / "work" / Path(notebook).name)
    if course_copy is not None:
        shutil.copytree(course_copy, folder / "course")
    else:
        (folder / "course").mkdir()
    _read_only(folder / "course")
    who = kernel_user() if user is KERNEL_USER else user
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
        who = kernel_user()
        if who:
            os.chown(conn, *who)
        command = [sys.executable, "-m", "ipykernel_launcher", "-f", str(conn)]
        if _sandboxed():
            command, extra = _sandbox_command(self.folder, who, command), {}
        else:
            extra = dict(user=who[0], group=who[1], extra_groups=[]) if who else {}
        self.proc = subprocess.Popen(command, cwd=self.folder / "work", env=kernel_env(self.folder),
                                     start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, **extra)
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
