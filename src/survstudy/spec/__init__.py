"""The study spec: pydantic models of the study YAML, its loader and the safe expression language.

Belongs here: the schema of ``study.yaml`` (data, units, variables, endpoints,
population, analyses), the YAML loader that reports errors by line and key
with the closest valid key, and the small expression parser used for derived
variables and inclusion criteria (never ``eval``).

Must not be here: reading the patient data, statistics, formatting.
Imports: pydantic, yaml, ``survstudy.errors``.
"""
