"""An example OptiRace plug-in: one surface and one optimizer, declared as entry points."""
