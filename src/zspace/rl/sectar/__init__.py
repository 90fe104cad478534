"""SeCTAR, the family: the trajectory VAE (:mod:`.model`), its configs and presets (:mod:`.config`),
training (:mod:`.train`), planning in latent space (:mod:`.plan`), the mechanism measurement
(:mod:`.mechanism`), and the run directory (:mod:`.run`, :mod:`.io`).

Like :mod:`zspace.rl`, this package imports nothing on its own.
"""

EVAL_SEED = 1000  # the first evaluation episode's seed: apart from the training episodes' (0, 1, ...)
