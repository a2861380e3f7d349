"""The Python half of test/real-conda/installer.sh: lay out a REAL conda installation at PREFIX from conda's source.

    python3 install.py PREFIX VERSION [--update]

PREFIX becomes what a Miniconda installation looks like to conda and to conda-gitops: a base env whose python is
this machine's Debian python3 (a venv: bin/python3.X -> /usr/bin/python3.X and pyvenv.cfg, so sys.prefix ==
PREFIX, which is how conda finds its root), conda's packages in lib/python3.X/site-packages, bin/conda (and
bin/conda-env where `conda env` is a separate entry point), condabin/conda, conda-meta/ records for python and
conda plus a history, .condarc, envs/ and pkgs/. conda's own dependencies are Debian's (include-system-site-packages);
what Python 3.11 or Debian lack gets the small compat shims described in README.md (every one printed).
"""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def die(msg):
    print(f"ERROR: {msg}", file=sys.stderr)
    sys.exit(1)


def shared_dirs():
    """Where conda-V.tar.gz may be: $CONDA_GITOPS_REAL_CONDA_DIR (or $REAL_CONDA_DIR), else ../shared/real-conda
    beside the repository (for a git worktree also beside the main checkout)."""
    env = os.environ.get("CONDA_GITOPS_REAL_CONDA_DIR") or os.environ.get("REAL_CONDA_DIR")
    if env:
        return [env]
    repo = os.path.normpath(os.path.join(HERE, "..", ".."))
    out = [os.path.join(repo, "..", "shared", "real-conda")]
    dotgit = os.path.join(repo, ".git")
    if os.path.isfile(dotgit):  # a worktree: "gitdir: /main/.git/worktrees/NAME"
        with open(dotgit) as f:
            m = re.match(r"gitdir:\s*(.+)", f.read().strip())
        if m:
            common = os.path.normpath(os.path.join(m.group(1), "..", ".."))
            out.append(os.path.join(os.path.dirname(common), "..", "shared", "real-conda"))
    return [os.path.normpath(d) for d in out]


def source_of(version):
    """(kind, path): a conda checkout directory or a tarball of one. $REAL_CONDA_SRC is the same setting under a
    name the product passes to an installer (`[conda] pass-env = REAL_CONDA_SRC`): it never passes CONDA_GITOPS_*."""
    src = os.environ.get("CONDA_GITOPS_REAL_CONDA_SRC") or os.environ.get("REAL_CONDA_SRC")
    if src:
        if os.path.isdir(src):
            if not os.path.isfile(os.path.join(src, "conda", "__init__.py")):
                die(f"CONDA_GITOPS_REAL_CONDA_SRC={src} is not a conda checkout (no conda/__init__.py)")
            return "dir", src
        if os.path.isfile(src):
            return "tar", src
        die(f"CONDA_GITOPS_REAL_CONDA_SRC={src} does not exist")
    tried = []
    for d in shared_dirs():
        p = os.path.join(d, f"conda-{version}.tar.gz")
        tried.append(p)
        if os.path.isfile(p):
            return "tar", p
    die(f"no conda {version} source: tried {', '.join(tried)} (set CONDA_GITOPS_REAL_CONDA_SRC or _DIR)")


def unpack(kind, path, dest):
    """Copy conda/ and conda_env/ (where it exists) of the source into dest (site-packages)."""
    wanted = ("conda", "conda_env")
    if kind == "dir":
        for top in wanted:
            s = os.path.join(path, top)
            if os.path.isdir(s):
                shutil.copytree(s, os.path.join(dest, top), ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return
    with tarfile.open(path) as t:
        members = t.getmembers()
        # `git archive --prefix=conda-V/` or no prefix: find the directory holding conda/__init__.py
        inits = [m.name for m in members if re.search(r"(^|/)conda/__init__\.py$", m.name)]
        if not inits:
            die(f"{path}: no conda/__init__.py inside")
        base = min(inits, key=len)[: -len("conda/__init__.py")]
        for m in members:
            if not m.name.startswith(base):
                continue
            rel = m.name[len(base):]
            if rel.split("/")[0] not in wanted or ".." in rel.split("/"):
                continue
            target = os.path.join(dest, rel)
            if m.isdir():
                os.makedirs(target, exist_ok=True)
            elif m.isfile():
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with t.extractfile(m) as r, open(target, "wb") as w:
                    shutil.copyfileobj(r, w)


def write_version(site, version):
    """The archives carry no version metadata (git describes it): write it where this conda reads it."""
    init = os.path.join(site, "conda", "__init__.py")
    with open(init) as f:
        text = f.read()
    if re.search(r"from \._version import", text):  # 24.x, 25.x
        where = os.path.join(site, "conda", "_version.py")
        with open(where, "w") as f:
            f.write(f'__version__ = version = "{version}"\n')
    elif os.path.isfile(os.path.join(site, "conda", "__version__.py")):  # 23.x, 24.1
        where = os.path.join(site, "conda", "__version__.py")
        with open(where, "w") as f:
            f.write(f'__version__ = "{version}"\n')
    else:  # up to 22.11: the __version__ line of conda/__init__.py
        new, n = re.subn(r"(?m)^__version__ = .*$", f'__version__ = "{version}"', text)
        if n != 1:
            die(f"{init}: no single __version__ line to write {version} into")
        with open(init, "w") as f:
            f.write(new)
        where = init
    return where


def importable(python, module):
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


FROZENDICT = '''"""frozendict stand-in for running conda from source on Debian (conda-gitops tests): the parts conda uses."""
from enum import Enum

__all__ = ["frozendict", "deepfreeze", "register", "getFreezeConversionMap"]


class frozendict(dict):
    """An immutable, hashable dict."""

    __slots__ = ("_hash",)

    def __new__(cls, *args, **kwargs):
        self = dict.__new__(cls)
        dict.__init__(self, *args, **kwargs)
        self._hash = None
        return self

    def __init__(self, *args, **kwargs):
        pass

    def _immutable(self, *args, **kwargs):
        raise TypeError(f"'{type(self).__name__}' object is immutable")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _immutable
    __ior__ = _immutable

    def __hash__(self):
        if self._hash is None:
            self._hash = hash(frozenset(self.items()))
        return self._hash

    def __repr__(self):
        return f"frozendict({dict.__repr__(self)})"

    def __reduce__(self):
        return (frozendict, (dict(self),))

    def copy(self):
        return self

    def __or__(self, other):
        return frozendict({**self, **other})

    def set(self, key, value):
        return frozendict({**self, key: value})

    def delete(self, key):
        d = dict(self)
        del d[key]
        return frozendict(d)


_conversions = {}


def register(cls, converter):
    _conversions[cls] = converter


def getFreezeConversionMap():
    return dict(_conversions)


def deepfreeze(obj):
    for cls, conv in _conversions.items():
        if isinstance(obj, cls):
            return conv(obj)
    if isinstance(obj, Enum):
        return obj
    if isinstance(obj, dict):
        return frozendict({k: deepfreeze(v) for k, v in obj.items()})
    if isinstance(obj, (list, tuple)):
        return tuple(deepfreeze(v) for v in obj)
    if isinstance(obj, (set, frozenset)):
        return frozenset(deepfreeze(v) for v in obj)
    return obj
'''

ARCHSPEC_CPU = '''"""archspec stand-in (conda-gitops tests): conda reads host().name / .family for the __archspec virtual package."""
import platform


class Microarchitecture:
    def __init__(self, name):
        self.name = name
        self.family = self
        self.vendor = "generic"
        self.generation = 0
        self.ancestors = []

    def __str__(self):
        return self.name


def host():
    return Microarchitecture(platform.machine() or "x86_64")


TARGETS = {}
'''


def compat_module(site, python):
    """Shims for Python 3.11 and Debian, imported by a .pth file in the base env only (never in envs)."""
    lines = ['"""Compat shims so real conda runs on this Python (conda-gitops tests; see test/real-conda/README.md)."""']
    notes = []
    conda_src = os.path.join(site, "conda")

    def grep(rel, pattern):
        p = os.path.join(conda_src, rel)
        return os.path.isfile(p) and re.search(pattern, open(p, encoding="utf-8", errors="replace").read())

    uses_abc = subprocess.run(
        ["grep", "-rlE", r"from collections import .*\b(Iterable|Mapping|Sequence|Set|Hashable|Callable)\b|"
         r"collections\.(Iterable|Mapping|Sequence|Set|Hashable|Callable)\b", conda_src, os.path.join(site, "conda_env")],
        capture_output=True, text=True).stdout.strip()
    if uses_abc:
        lines += [
            "import collections, collections.abc",
            "for _n in collections.abc.__all__:",
            "    if not hasattr(collections, _n):",
            "        setattr(collections, _n, getattr(collections.abc, _n))",
        ]
        notes.append("collections.Iterable & co. (removed in Python 3.10)")
    if subprocess.run(["grep", "-rqE", r"platform\.linux_distribution\(", conda_src]).returncode == 0:
        lines += [
            "import platform",
            "if not hasattr(platform, 'linux_distribution'):",
            "    platform.linux_distribution = lambda *a, **k: ('', '', '')",
        ]
        notes.append("platform.linux_distribution (removed in Python 3.8)")
    if grep("base/context.py", r"len\(value\) == 3 and value\[1\] == '\.'"):
        lines += ["import os", "os.environ.setdefault('CONDA_DEFAULT_PYTHON', '3.9')"]
        notes.append("CONDA_DEFAULT_PYTHON=3.9 (this conda rejects a default python of 3.11)")
    with open(os.path.join(site, "_conda_gitops_compat.py"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(site, "conda_gitops_compat.pth"), "w") as f:
        f.write("import _conda_gitops_compat\n")
    if subprocess.run(["grep", "-rqE", r"^\s*(import archspec|from archspec)", conda_src]).returncode == 0:
        if not importable(python, "archspec"):
            os.makedirs(os.path.join(site, "archspec"), exist_ok=True)
            open(os.path.join(site, "archspec", "__init__.py"), "w").close()
            with open(os.path.join(site, "archspec", "cpu.py"), "w") as f:
                f.write(ARCHSPEC_CPU)
            notes.append("archspec stand-in (archspec.cpu.host())")
    if subprocess.run(["grep", "-rqE", r"^\s*from frozendict import", conda_src]).returncode == 0:
        # Debian's frozendict 1.2 has no deepfreeze: ours shadows it (the venv's site-packages come first)
        if subprocess.run([python, "-c", "from frozendict import deepfreeze"], capture_output=True).returncode != 0:
            with open(os.path.join(site, "frozendict.py"), "w") as f:
                f.write(FROZENDICT)
            notes.append("frozendict stand-in (frozendict, deepfreeze, register)")
    return notes


def entry_script(python, module, func="main"):
    return (f"#!{python}\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n\nfrom {module} import {func}\n\n"
            "if __name__ == '__main__':\n"
            "    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n"
            f"    sys.exit({func}())\n")


def write_exe(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


def solver_classic_needed(site):
    """conda >= 22.11 knows `solver:`; conda_libmamba_solver is not on this machine, so it must be classic."""
    return os.path.isfile(os.path.join(site, "conda", "plugins", "solvers.py")) or bool(
        re.search(r"\bsolver\b\s*=\s*ParameterLoader", open(os.path.join(site, "conda", "base", "context.py")).read()))


def record(name, version, build, files, depends=()):
    return {
        "name": name, "version": version, "build": build, "build_number": 0, "build_string": build,
        "channel": "https://repo.anaconda.com/pkgs/main/linux-64", "subdir": "linux-64",
        "schannel": "defaults", "fn": f"{name}-{version}-{build}.tar.bz2",
        "url": f"https://repo.anaconda.com/pkgs/main/linux-64/{name}-{version}-{build}.tar.bz2",
        "depends": list(depends), "constrains": [], "license": "BSD-3-Clause", "md5": "0" * 32,
        "files": files, "paths_data": {"paths_version": 1, "paths": [
            {"_path": p, "path_type": "hardlink", "size_in_bytes": 0} for p in files]},
        "link": {"source": "", "type": 1}, "requested_spec": name,
    }


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    update = "--update" in sys.argv[1:]
    if len(args) != 2:
        die("usage: install.py PREFIX VERSION [--update]")
    prefix, version = os.path.abspath(args[0]), args[1]
    kind, src = source_of(version)
    host = os.path.realpath(os.environ.get("REAL_CONDA_PYTHON", "/usr/bin/python3"))
    pyver = subprocess.run([host, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    pyfull = subprocess.run([host, "-c", "import platform; print(platform.python_version())"],
                            capture_output=True, text=True, check=True).stdout.strip()
    site = os.path.join(prefix, "lib", f"python{pyver}", "site-packages")
    if update:
        for top in ("conda", "conda_env"):
            shutil.rmtree(os.path.join(site, top), ignore_errors=True)
    for d in ("bin", "condabin", "conda-meta", "envs", "pkgs", site):
        os.makedirs(os.path.join(prefix, d), exist_ok=True)

    # the base env's python: a venv on the host interpreter (sys.prefix == PREFIX), seeing Debian's packages
    for name, target in ((f"python{pyver}", host), ("python3", f"python{pyver}"), ("python", f"python{pyver}")):
        p = os.path.join(prefix, "bin", name)
        if os.path.lexists(p):
            os.unlink(p)
        os.symlink(target, p)
    with open(os.path.join(prefix, "pyvenv.cfg"), "w") as f:
        f.write(f"home = {os.path.dirname(host)}\ninclude-system-site-packages = true\nversion = {pyfull}\n")

    unpack(kind, src, site)
    where = write_version(site, version)
    python = os.path.join(prefix, "bin", "python")
    notes = compat_module(site, python)

    write_exe(os.path.join(prefix, "bin", "conda"), entry_script(python, "conda.cli", "main"))
    write_exe(os.path.join(prefix, "condabin", "conda"), entry_script(python, "conda.cli", "main"))
    if os.path.isfile(os.path.join(site, "conda_env", "cli", "main.py")) and not os.path.isfile(
            os.path.join(site, "conda", "cli", "main_env.py")):
        # `conda env` runs the conda-env executable beside conda (conda/cli/find_commands.py)
        write_exe(os.path.join(prefix, "bin", "conda-env"), entry_script(python, "conda_env.cli.main", "main"))

    rc = os.path.join(prefix, ".condarc")
    channels = [c for c in (os.environ.get("REAL_CONDA_CHANNELS") or os.environ.get("FAKE_CONDA_CHANNELS")
                            or "defaults").split(",") if c]
    classic = solver_classic_needed(site)
    if not update or not os.path.exists(rc):
        with open(rc, "w") as f:
            f.write("channels:\n" + "".join(f"  - {c}\n" for c in channels))
            if classic:
                f.write("# conda-libmamba-solver is not installed here: the classic solver\nsolver: classic\n")

    meta = os.path.join(prefix, "conda-meta")
    for old in os.listdir(meta):
        if old.endswith(".json"):
            os.unlink(os.path.join(meta, old))
    conda_files = sorted(os.path.relpath(os.path.join(r, n), prefix) for top in ("conda", "conda_env")
                         for r, _, ns in os.walk(os.path.join(site, top)) for n in ns)
    recs = [record("python", pyfull, "h0_cpython", [f"bin/python{pyver}", "bin/python3", "bin/python"]),
            record("conda", version, f"py{pyver.replace('.', '')}_0", conda_files + ["bin/conda", "condabin/conda"],
                   depends=[f"python >={pyver},<{pyver}.1.0a0"])]
    for r in recs:
        with open(os.path.join(meta, f"{r['name']}-{r['version']}-{r['build']}.json"), "w") as f:
            json.dump(r, f, indent=2, sort_keys=True)
    with open(os.path.join(meta, "history"), "a") as f:
        f.write(time.strftime("==> %Y-%m-%d %H:%M:%S <==\n"))
        f.write(f"# cmd: {os.path.join(HERE, 'installer.sh')} -b -p {prefix}\n")
        for r in recs:
            f.write(f"+defaults::{r['name']}-{r['version']}-{r['build']}\n")
    with open(os.path.join(prefix, ".real-conda.json"), "w") as f:
        json.dump({"version": version, "source": src, "python": host, "compat": notes,
                   "solver": "classic" if classic else None}, f, indent=2)

    print(f"conda {version} from {src} (version written to {os.path.relpath(where, prefix)})")
    print(f"python: {python} -> {host} ({pyfull}), conda's dependencies from Debian's packages")
    for n in notes:
        print(f"compat: {n}")
    if classic:
        print("solver: classic (conda-libmamba-solver is not installed; written to .condarc)")
    out = subprocess.run([os.path.join(prefix, "bin", "conda"), "--version"], capture_output=True, text=True,
                         env={**os.environ, "CONDARC": rc})
    said = (out.stdout + out.stderr).strip()
    if out.returncode != 0 or f"conda {version}" not in said:
        die(f"the installed conda does not run: `conda --version` said ({out.returncode}): {said[-2000:]}")
    print(said)
    print("installation finished.")


if __name__ == "__main__":
    main()
