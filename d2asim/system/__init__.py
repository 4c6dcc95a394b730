"""The modelled system: trusts, boroughs and services with integer codes (the registry)."""
