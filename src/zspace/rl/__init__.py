"""SeCTAR: hierarchical RL by planning in a learned latent space of trajectories.

Co-Reyes, Liu, Gupta, Eysenbach, Abbeel, Levine, "Self-Consistent Trajectory Autoencoder:
Hierarchical Reinforcement Learning with Trajectory Embeddings" (ICML 2018).

- :mod:`zspace.rl.envs`: the sparse, sequential, multi-stage tasks (Gymnasium API); importing it
  registers the ``zspace/...`` environment ids.

This package imports nothing on its own, so ``import zspace.rl.<module>`` pulls in only what that
module needs.
"""
