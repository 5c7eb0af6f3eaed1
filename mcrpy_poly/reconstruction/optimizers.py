"""Optimisers of the reconstruction, on MCRpy's optimizer plugin classes.

All of them minimise a loss of a ``tf.Variable`` state through ``value_and_gradient(x) ->
(loss, gradient)`` and report every loss evaluation; an *iteration* is one evaluation of loss
and gradient (MCRpy's count, so budgets are comparable across optimisers).

- ``lbfgsb``, ``tnc``: SciPy, through MCRpy's :class:`~mcrpy.optimizers.SPOptimizer.SPOptimizer`
  without bounds (the state is an unconstrained 4-vector per voxel). SciPy may stop early (a
  line search that cannot improve); the optimiser then restarts from where it stopped while
  there is budget left and the last run made progress.
- ``adam``, ``sgd``: MCRpy's own :class:`~mcrpy.optimizers.Adam.Adam` and
  :class:`~mcrpy.optimizers.SGD.SGD` plugins (Keras optimisers).
- ``tfp-lbfgs``: TensorFlow Probability's L-BFGS, the whole loop inside one compiled graph
  (it can stay on an accelerator); it runs in chunks so progress and checkpoints happen
  between chunks, each chunk continuing the previous one's L-BFGS memory.
"""
from __future__ import annotations

import warnings

import tensorflow as tf
from mcrpy.optimizers.Adam import Adam
from mcrpy.optimizers.Optimizer import Optimizer
from mcrpy.optimizers.SGD import SGD
from mcrpy.optimizers.SPOptimizer import SPOptimizer

from ..errors import InputError

#: Options of each optimiser and their defaults (``optimizer_options`` overrides them).
OPTIMIZER_DEFAULTS = {
    "lbfgsb": {},
    "tnc": {},
    "adam": {"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999},
    "sgd": {"learning_rate": 0.1, "momentum": 0.9},
    "tfp-lbfgs": {"num_correction_pairs": 10, "chunk": 50},
}


class _BudgetSpent(Exception):
    """Raised after the last allowed evaluation, to stop an optimiser exactly on budget."""


class _State:
    """What MCRpy's optimisers need of a microstructure: the variable ``x``."""

    def __init__(self, variable):
        self.x = variable


class ScipyOptimizer(SPOptimizer):
    """MCRpy's SciPy optimiser base with a chosen method and no bounds."""

    def __init__(self, method: str, max_iter: int, callback, desired_shape_extended):
        super().__init__(max_iter=max_iter, desired_shape_extended=desired_shape_extended, callback=callback)
        self.optimizer_method = method
        self.bounds = None

    def optimize(self, ms, restart_from_niter: int | None = None) -> int:
        n_iter = 0 if restart_from_niter is None else restart_from_niter
        while n_iter < self.max_iter:
            with warnings.catch_warnings():  # MCRpy passes maxiter and maxfun; TNC knows only maxfun
                warnings.filterwarnings("ignore", message="Unknown solver options: maxiter")
                done = super().optimize(ms, restart_from_niter=n_iter)
            if done - n_iter < 3:
                break
            n_iter = done
        return self.n_iter


class TFPLBFGS(Optimizer):
    """L-BFGS of TensorFlow Probability, run in compiled chunks of ``chunk`` iterations."""

    def __init__(self, max_iter: int, callback, num_correction_pairs: int = 10, chunk: int = 50):
        self.max_iter = max_iter
        self.reconstruction_callback = callback
        self.num_correction_pairs = int(num_correction_pairs)
        self.chunk = int(chunk)

    def optimize(self, ms, restart_from_niter: int | None = None) -> int:
        import tensorflow_probability as tfp

        self.n_iter = 0 if restart_from_niter is None else restart_from_niter
        shape = ms.x.shape
        capacity = self.max_iter + 64 * self.chunk  # line searches may overrun the budget a little
        history = tf.Variable(tf.zeros([capacity], tf.float64), trainable=False)
        count = tf.Variable(0, dtype=tf.int32, trainable=False)

        def value_and_gradients(position):
            loss, gradient = self.call_loss_tensor(tf.reshape(position, shape))
            history.scatter_nd_update([[tf.minimum(count, capacity - 1)]], [loss])
            count.assign_add(1)
            return loss, tf.reshape(gradient, [-1])

        options = dict(num_correction_pairs=self.num_correction_pairs, tolerance=0.0, max_line_search_iterations=20)
        first = tf.function(lambda position, iterations: tfp.optimizer.lbfgs_minimize(
            value_and_gradients, initial_position=position, max_iterations=iterations, **options))
        further = tf.function(lambda previous, iterations: tfp.optimizer.lbfgs_minimize(
            value_and_gradients, initial_position=None, previous_optimizer_results=previous,
            max_iterations=iterations, **options))
        results, seen = None, 0
        while self.n_iter < self.max_iter:
            iterations = tf.constant(max(1, min(self.chunk, (self.max_iter - self.n_iter) // 2)))
            if results is None:
                results = first(tf.reshape(ms.x, [-1]), iterations)
            else:
                results = further(results, iterations)
            ms.x.assign(tf.reshape(results.position, shape))
            total = int(count.numpy())
            for loss in history.numpy()[seen:min(total, capacity)]:
                self.reconstruction_callback(self.n_iter, loss, ms)
                self.n_iter += 1
            if total == seen or bool(results.converged) or bool(results.failed):
                break
            seen = total
        return self.n_iter


def make_optimizer(name: str, max_iter: int, callback, shape, options=None) -> Optimizer:
    """An MCRpy optimizer object for ``name`` (a key of :data:`OPTIMIZER_DEFAULTS`).

    Parameters
    ----------
    max_iter : int
        Loss evaluations allowed.
    callback : callable
        ``callback(n_iter, loss, ms)`` after every evaluation (MCRpy's reconstruction callback).
    shape : tuple of int
        Shape of the state variable.
    options : dict, optional
        Overrides of :data:`OPTIMIZER_DEFAULTS` ``[name]``.
    """
    if name not in OPTIMIZER_DEFAULTS:
        raise InputError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZER_DEFAULTS)}")
    settings = {**OPTIMIZER_DEFAULTS[name], **(options or {})}
    unknown = set(settings) - set(OPTIMIZER_DEFAULTS[name])
    if unknown:
        raise InputError(f"optimizer {name!r} has no option(s) {sorted(unknown)}; "
                         f"it takes {sorted(OPTIMIZER_DEFAULTS[name]) or 'none'}")
    if name in ("lbfgsb", "tnc"):
        return ScipyOptimizer({"lbfgsb": "L-BFGS-B", "tnc": "TNC"}[name], max_iter, callback, tuple(shape))
    if name == "adam":
        return Adam(max_iter=max_iter, callback=callback, **settings)
    if name == "sgd":
        return SGD(max_iter=max_iter, callback=callback, **settings)
    return TFPLBFGS(max_iter, callback, **settings)


def minimize(name: str, variable: tf.Variable, value_and_gradient, max_iter: int, on_evaluation, options=None):
    """Minimise ``value_and_gradient`` over ``variable`` for at most ``max_iter`` evaluations
    (exactly ``max_iter`` unless the optimiser converges or stalls first).

    Parameters
    ----------
    name : str
        Key of :data:`OPTIMIZER_DEFAULTS`.
    variable : tf.Variable
        The state; it holds the evaluated point whenever ``on_evaluation`` runs, and the
        last state when this returns.
    value_and_gradient : callable
        Compiled ``x -> (loss, gradient)``.
    max_iter : int
    on_evaluation : callable
        ``on_evaluation(loss: float)`` after each evaluation; may raise to stop.
    options : dict, optional
    """
    if max_iter <= 0:
        return
    done = [0]

    def callback(n_iter, loss, ms):
        on_evaluation(float(loss))
        done[0] += 1
        if done[0] >= max_iter:
            raise _BudgetSpent

    optimizer = make_optimizer(name, max_iter, callback, variable.shape, options)

    def call_loss(ms):
        loss, gradient = value_and_gradient(ms.x)
        return loss, [gradient]

    optimizer.set_call_loss(call_loss)
    optimizer.call_loss_tensor = value_and_gradient
    try:
        optimizer.optimize(_State(variable))
    except _BudgetSpent:
        pass
