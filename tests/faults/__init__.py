"""Helpers for the fault-injection tests (tests/test_faults_*.py): workload, rotation, truth."""
