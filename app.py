"""OptiRace: `panel serve app.py`. A thin assembly; the pieces live in views/, the maths in optimizers/."""

from views.page import serve

serve()
