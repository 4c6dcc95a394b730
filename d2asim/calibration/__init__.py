"""Calibration of d2asim scenarios from data: patient-level spells and aggregate (SitRep) series."""
