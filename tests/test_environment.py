"""The set-up files agree: environment.yml pins exactly what pyproject.toml pins; CI runs the README command."""
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _pyproject_pins():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {re.split(r"[=<>!~]", d)[0].strip().lower(): d.replace(" ", "") for d in deps}


def _environment_pins():
    text = (ROOT / "environment.yml").read_text()
    pins = re.findall(r"^\s+-\s+([A-Za-z0-9_.\-]+==[^\s#]+)\s*$", text, flags=re.M)
    return {p.split("==")[0].lower(): p for p in pins}


def test_every_dependency_is_pinned_exactly():
    for name, spec in _pyproject_pins().items():
        assert "==" in spec, f"{name} is not pinned with == in pyproject.toml"


def test_environment_yml_matches_pyproject():
    assert _environment_pins() == _pyproject_pins()


def test_python_version_is_3_11_everywhere():
    assert 'requires-python = ">=3.11,<3.12"' in (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^\s+-\s+python=3\.11\s*$", (ROOT / "environment.yml").read_text(), flags=re.M)


def test_torch_is_the_cpu_pin():
    assert _pyproject_pins()["torch"] == "torch==2.13.0"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 course.py test" in readme and "python3 course.py start" in readme
    assert ci.strip().splitlines()[-1] == "python3 course.py test"


def test_course_lib_sets_legacy_keras_before_tf(monkeypatch):
    import importlib

    import course_lib

    monkeypatch.delenv("TF_USE_LEGACY_KERAS", raising=False)
    importlib.reload(course_lib)
    import os

    assert os.environ["TF_USE_LEGACY_KERAS"] == "1"


def test_course_lib_caps_torch_kernels_at_avx2(monkeypatch):
    """Lesson 14's QLoRA run prints other digits with AVX-512 kernels: every CPU gets AVX2's."""
    import importlib
    import os

    import course_lib

    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    importlib.reload(course_lib)
    assert os.environ["ATEN_CPU_CAPABILITY"] == "avx2"


def _course():
    import sys

    sys.path.insert(0, str(ROOT))
    import course

    return course


@pytest.mark.parametrize("argv, message", [
    (["bench", "--kernels", "--no-kernels"], "not allowed with argument --kernels"),
    (["slides", "--pfd"], "unrecognized arguments: --pfd"),
    (["execute", "--all"], "unrecognized arguments: --all"),
    (["frob"], "invalid choice: 'frob'"),
    (["new-lesson", "123", "x", "Title"], "lesson number must be an integer in"),
    (["new-lesson", "12", "Bad-Name", "Title"], "the name must be snake_case"),
    (["new-lesson", "12"], "the following arguments are required: name, title"),
])
def test_bad_arguments_are_usage_errors_before_any_set_up(argv, message, capsys, monkeypatch):
    course = _course()
    monkeypatch.setattr(course, "setup", lambda: pytest.fail("set-up ran before the arguments were checked"))
    with pytest.raises(SystemExit) as e:
        course.main(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["start", "test", "setup", "execute", "student", "bench", "slides",
                                     "portability", "new-lesson"])
def test_every_command_has_help(command, capsys):
    course = _course()
    with pytest.raises(SystemExit) as e:
        course.parse([command, "--help"])
    assert e.value.code == 0 and f"usage: course.py {command}" in capsys.readouterr().out
    assert set(course.COMMANDS) == {*course.parser().commands}


def test_pass_through_arguments_reach_their_tool():
    course = _course()
    args, extra = course.parse(["test", "--fast", "-q", "tests/test_nn.py", "-k", "mask"])
    assert args.fast and extra == ["-q", "tests/test_nn.py", "-k", "mask"]
    assert course.parse(["grade", "subs", "--timeout"])[1] == ["subs", "--timeout"]  # tools/grade.py says what is wrong
    assert course.parse(["start", "--no-browser", "--port=8899"])[1] == ["--no-browser", "--port=8899"]


def test_import_tf_caps_threads_and_imports_tfmot_on_first_use():
    """A fresh interpreter: tfmot is not imported until used; threads= reaches TensorFlow's pools."""
    code = ("import sys\nfrom course_lib.frameworks import import_tf\n"
            "tf, keras, tfmot = import_tf(0, threads=1)\n"
            "before = 'tensorflow_model_optimization' in sys.modules\n"
            "schedule = tfmot.sparsity.keras.ConstantSparsity\n"
            "print(before, 'tensorflow_model_optimization' in sys.modules,\n"
            "      tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads())\n"
            "import_tf(0, threads=1)\n")
    assert _fresh_python(code) == ["False", "True", "1", "1"]


@pytest.mark.torch
def test_import_torch_is_deterministic_without_importing_inductor():
    """A fresh interpreter: the same flags as torch.use_deterministic_algorithms(True), Inductor not imported."""
    code = ("import sys\nfrom course_lib.frameworks import import_torch\ntorch = import_torch()\n"
            "print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),\n"
            "      'torch._inductor' in sys.modules)\n"
            "torch.use_deterministic_algorithms(False)\ntorch.use_deterministic_algorithms(True)\n"
            "print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())\n")
    assert _fresh_python(code) == ["True", "False", "False", "True", "False"]


def _fresh_python(code):
    """Run `code` in a new interpreter with course_lib importable; return its printed words."""
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_test_workers_get_one_thread_each_unless_set():
    course = _course()
    env = {"MKL_NUM_THREADS": "2"}
    course._one_thread_each(env)
    assert env == {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "2"}
