"""Importing residents from the spreadsheets districts already keep (XLSX or CSV in any of
UTF-8, UTF-8 with BOM, GBK, GB18030), with a per-row report of what was rejected and why."""

from wangge.registry.importing.reading import ImportFileError
from wangge.registry.importing.residents import ImportResult, Problem, import_residents

__all__ = ["ImportFileError", "ImportResult", "Problem", "import_residents"]
