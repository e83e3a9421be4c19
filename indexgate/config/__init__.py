"""The sections of the settings, one model each, grouped by what they configure.

:mod:`indexgate.settings` assembles them into the one settings object and re-exports every name.
Import them from there; these modules only keep each file about one concept.
"""
