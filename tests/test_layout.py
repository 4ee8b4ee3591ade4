"""The layout a reader meets: one package per concern, Django's conventional modules beside them."""

import importlib
import pkgutil
import re

import pytest
from django.urls import reverse

import ecomind_core
from tests.dbtools import ROOT

PACKAGE = ROOT / "ecomind_core"

#: The single-file modules allowed at the top of ``ecomind_core/``, each with why it is not in a package.
TOP_LEVEL_MODULES = {
    "__init__.py": "makes ecomind_core a package",
    "apps.py": "Django's AppConfig, found by that name",
    "models.py": "Django's models, found by that name",
    "admin_site.py": "the AdminSite class settings name (ecomind/apps.py); the admin/ package registers into it",
    "fields.py": "custom model fields: migrations import them as ecomind_core.fields, Django's own convention",
    "factories.py": "factory-boy's conventional module: one factory per model (tests, benchmarks, demo data)",
}


def test_the_top_level_holds_only_conventional_modules_beside_packages():
    modules = {path.name for path in PACKAGE.glob("*.py")}
    assert modules == set(TOP_LEVEL_MODULES), (
        f"unexpected: {sorted(modules - set(TOP_LEVEL_MODULES))}; put a module in the package of its concern "
        "(or, for a Django convention, add it here with the reason)"
    )


def test_every_module_imports():
    for module in pkgutil.walk_packages(ecomind_core.__path__, "ecomind_core."):
        importlib.import_module(module.name)


def test_no_module_is_left_at_an_old_path():
    """Moved modules keep no re-export shim: nothing imports the old paths, which do not exist."""
    old = ("ecomind_core.migration_operations", "ecomind_core.migration_stages", "ecomind_core.signin_audit",
           "ecomind_core.two_factor", "ecomind_core.lockout", "ecomind_core.client_address", "ecomind_core.auditors",
           "ecomind_core.adoption", "ecomind_core.catalog.migration_state", "ecomind_core.db.target",
           "ecomind_core.db.ddl_timeout", "ecomind_core.ids")
    for name in old:
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(name)
    pattern = re.compile("|".join(re.escape(name) + r"\b" for name in old))
    texts = [*ROOT.glob("*.md"), *ROOT.joinpath("docs").rglob("*.md"), *ROOT.joinpath("ecomind").rglob("*.py"),
             *PACKAGE.rglob("*.py"), *ROOT.joinpath("benchmarks").rglob("*.py")]
    assert [str(path.relative_to(ROOT)) for path in texts if pattern.search(path.read_text())] == []


def test_the_readme_map_has_one_row_per_package_and_no_lists_of_loose_files():
    readme = (ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `ecomind_core/")]
    paths = [row.split("`")[1] for row in rows]
    packages = sorted(f"ecomind_core/{path.name}/" for path in PACKAGE.iterdir()
                      if path.is_dir() and path.name != "__pycache__")
    assert sorted(p for p in paths if p.endswith("/")) == packages
    assert all(path.count("`") == 0 for path in paths)
    assert [row for row in rows if re.search(r"^\| `[^`]+`, `", row)] == [], "a row lists loose files"


@pytest.mark.django_db
def test_the_admin_groups_the_two_factor_apps_under_one_plain_name(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Two-factor" in page
    assert "OTP_TOTP" not in page and "OTP_STATIC" not in page
    assert page.count(">Two-factor<") == 1
