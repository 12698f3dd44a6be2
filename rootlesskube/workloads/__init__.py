"""Workloads deployed into Pod Security namespaces: PMM 3, and PMM 2 as the negative control.

Manifests are data (dicts built in Python, applied through kubectl's stdin);
deploying and verifying them are separate modules.
"""
