# SPDX-License-Identifier: Apache-2.0
"""DORAEMON: domain randomization by entropy maximisation (Tiboni et al., ICLR 2024).

The distribution is one Beta(a_i, b_i) per parameter on the target box. Each update solves

    max_phi H(nu_phi)
    s.t. KL(nu_old || nu_phi) <= epsilon                                    (trust region)
         G(phi) = mean_k [nu_phi(x_k) / nu_old(x_k)] * success_k >= alpha   (importance sampled)

over the episodes x_k collected with nu_old since the last update, with SciPy's trust-constr
and exact float64 gradients (``beta``). The variables are z = (z_a, z_b), (2D,), with
a = lo + (hi - lo) sigmoid(z_a) (same for b), so a, b stay in ``concentration_bounds``.

As in the reference implementation: no update until the in-sample success rate first reaches
alpha (warm-up); when the current distribution is infeasible, a backup problem (maximise G under
the trust region) runs first and, if it reaches alpha, the entropy step starts from its
solution; a step whose result breaks a constraint or lowers the entropy is rejected and the old
distribution kept.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
from scipy import optimize, special

from robot_learning.domain_randomization import beta
from robot_learning.domain_randomization.box import ParameterBox
from robot_learning.domain_randomization.config import DoraemonConfig
from robot_learning.domain_randomization.distributions import BetaDistribution
from robot_learning.domain_randomization.randomizer import NO_BOUNDARY, Randomizer

LOG = logging.getLogger(__name__)
SUCCESS_SLACK = 1e-4
"""The success constraint is G >= alpha - slack (reference implementation)."""
KL_SLACK = 1e-5
"""The backup problem keeps KL <= epsilon - slack."""
SOLVER_OPTIONS = {'gtol': 1e-4, 'xtol': 1e-6, 'maxiter': 500}


class DoraemonProblem:
    """Objective and constraints of one DORAEMON update as functions of z, with gradients.

    ``unit`` (K, D) are the buffered episodes' dynamics in the unit cube, ``success`` (K,)
    their outcomes, ``old`` the distribution that sampled them.
    """

    def __init__(self, old: BetaDistribution, unit: np.ndarray, success: np.ndarray,
                 bounds: tuple[float, float]) -> None:
        self.old = old
        self.unit = np.clip(np.asarray(unit, dtype=np.float64), beta.UNIT_EPS, 1 - beta.UNIT_EPS)
        self.success = np.asarray(success, dtype=np.float64)
        self.lower, self.upper = map(float, bounds)
        self.dim = old.box.dim
        self.old_log_density = beta.log_density(self.unit, old.a, old.b).sum(axis=1)

    # -- parametrisation --------------------------------------------------------------------

    def params(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return (a, b, da/dz_a, db/dz_b), each (D,)."""
        sigma = special.expit(np.asarray(z, dtype=np.float64))
        value = self.lower + (self.upper - self.lower) * sigma
        slope = (self.upper - self.lower) * sigma * (1 - sigma)
        return value[:self.dim], value[self.dim:], slope[:self.dim], slope[self.dim:]

    def z_of(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Inverse of ``params`` (values at the bounds are nudged inside)."""
        span = self.upper - self.lower
        fraction = (np.concatenate([a, b]) - self.lower) / span
        return special.logit(np.clip(fraction, 1e-9, 1 - 1e-9))

    def distribution(self, z: np.ndarray) -> BetaDistribution:
        """Return the Beta distribution at z."""
        a, b, _, _ = self.params(z)
        return BetaDistribution(self.old.box, a, b)

    # -- objective and constraints ----------------------------------------------------------

    def negative_entropy(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        """-sum_i H(Beta(a_i, b_i)) and its gradient in z (the box's log-width is constant)."""
        a, b, da, db = self.params(z)
        grad_a, grad_b = beta.entropy_grad(a, b)
        return -float(beta.entropy(a, b).sum()), -np.concatenate([grad_a * da, grad_b * db])

    def kl(self, z: np.ndarray) -> float:
        """KL(old || nu_z) [nats]."""
        a, b, _, _ = self.params(z)
        return float(beta.kl(self.old.a, self.old.b, a, b).sum())

    def kl_jac(self, z: np.ndarray) -> np.ndarray:
        """(1, 2D) gradient of ``kl``."""
        a, b, da, db = self.params(z)
        grad_a, grad_b = beta.kl_grad_second(self.old.a, self.old.b, a, b)
        return np.concatenate([grad_a * da, grad_b * db])[None, :]

    def weights(self, z: np.ndarray) -> np.ndarray:
        """(K,) importance weights nu_z(x_k) / nu_old(x_k)."""
        a, b, _, _ = self.params(z)
        log_ratio = beta.log_density(self.unit, a, b).sum(axis=1) - self.old_log_density
        return np.exp(log_ratio)

    def success_estimate(self, z: np.ndarray) -> float:
        """G(z) = mean_k w_k success_k: the success rate nu_z would have."""
        return float(np.mean(self.weights(z) * self.success)) if self.success.size else 0.0

    def success_jac(self, z: np.ndarray) -> np.ndarray:
        """(1, 2D) gradient of ``success_estimate``."""
        a, b, da, db = self.params(z)
        weighted = (self.weights(z) * self.success)[:, None]  # (K, 1)
        grad_a, grad_b = beta.log_density_grad(self.unit, a, b)  # (K, D) each
        return np.concatenate([(weighted * grad_a).mean(axis=0) * da,
                               (weighted * grad_b).mean(axis=0) * db])[None, :]


class DoraemonRandomization(Randomizer):
    """DORAEMON's Beta distribution and its update rule."""

    method = 'doraemon'

    def __init__(self, box: ParameterBox, config: DoraemonConfig) -> None:
        super().__init__(box)
        self.config = config
        self.distribution = BetaDistribution.symmetric(box, config.initial_concentration)
        self.warmed_up = False

    def sample(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw from the current Beta distribution."""
        return self.distribution.sample(count, rng), np.full(count, NO_BOUNDARY)

    def entropy(self) -> float:
        """Entropy of the physical values [nats]."""
        return self.distribution.entropy()

    def describe(self) -> dict:
        """Return a, b, mean and std of each parameter."""
        return self.distribution.describe()

    def _update(self, values: np.ndarray, success: np.ndarray, tags: np.ndarray) -> str:
        config = self.config
        alpha, epsilon = config.success_rate, config.kl_bound
        if success.size == 0:
            LOG.log(logging.WARNING if self.warmed_up else logging.DEBUG,
                    'DORAEMON: no episode finished since the last update; the distribution is '
                    'unchanged (raise randomization.update_every_steps or shorten episodes)')
            return 'no_episodes'
        rate = float(success.mean())
        if not self.warmed_up:
            if rate < alpha:
                waiting = self.updates + 1
                loud = waiting % config.warmup_warning_updates == 0
                LOG.log(logging.WARNING if loud else logging.DEBUG,
                        'DORAEMON warm-up: in-distribution success %.3f < alpha %.2f after %d '
                        'updates; the distribution stays at its start until success reaches '
                        'alpha%s', rate, alpha, waiting,
                        " (if it never does, check the task's success threshold or lower "
                        'randomization.doraemon.success_rate)' if loud else '')
                return 'warmup'
            self.warmed_up = True
            LOG.info('DORAEMON: success %.3f reached alpha %.2f, warm-up over', rate, alpha)
        problem = DoraemonProblem(self.distribution, self.box.to_unit(values), success,
                                  config.concentration_bounds)
        z_old = problem.z_of(self.distribution.a, self.distribution.b)
        start, status = z_old, 'entropy_step'
        if rate < alpha - SUCCESS_SLACK:
            start, status = self._backup(problem, z_old, alpha, epsilon)
            if status != 'backup_then_entropy':
                return status
        z_new = self._solve(problem, start, alpha, epsilon)
        start_entropy = problem.distribution(start).entropy()
        if z_new is not None and not self._accept(problem, z_new, alpha, epsilon,
                                                  start_entropy):
            LOG.debug('DORAEMON step rejected: KL %.4g (bound %.4g), success estimate %.3f '
                      '(alpha %.2f), entropy %.3f -> %.3f', problem.kl(z_new), epsilon,
                      problem.success_estimate(z_new), alpha, start_entropy,
                      problem.distribution(z_new).entropy())
            z_new = None
        if z_new is None:
            if status == 'backup_then_entropy':
                # The backup solution is feasible: keep it rather than nothing.
                self.distribution = problem.distribution(start)
                return 'backup_only'
            return 'kept'
        self.distribution = problem.distribution(z_new)
        self._warn_on_collapse()
        return status

    def _backup(self, problem: DoraemonProblem, z_old: np.ndarray, alpha: float,
                epsilon: float) -> tuple[np.ndarray, str]:
        """Maximise the success estimate inside the trust region (the infeasible case)."""
        constraint = optimize.NonlinearConstraint(problem.kl, -np.inf, epsilon - KL_SLACK,
                                                  jac=problem.kl_jac, hess=optimize.BFGS())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                result = optimize.minimize(
                    lambda z: (-problem.success_estimate(z), -problem.success_jac(z)[0]),
                    z_old, method='trust-constr', jac=True, hess=optimize.BFGS(),
                    constraints=[constraint], options=SOLVER_OPTIONS)
        except (ValueError, np.linalg.LinAlgError) as error:
            LOG.warning('DORAEMON backup problem failed (%s); distribution kept', error)
            return z_old, 'kept'
        z = result.x
        if problem.kl(z) > epsilon or not np.all(np.isfinite(z)):
            return z_old, 'kept'
        if problem.success_estimate(z) >= alpha - SUCCESS_SLACK:
            return z, 'backup_then_entropy'
        if problem.success_estimate(z) > problem.success_estimate(z_old):
            self.distribution = problem.distribution(z)
            return z, 'backup_only'
        return z_old, 'kept'

    def _solve(self, problem: DoraemonProblem, start: np.ndarray, alpha: float,
               epsilon: float) -> np.ndarray | None:
        """Maximise the entropy under the trust region and the success constraint."""
        constraints = [
            optimize.NonlinearConstraint(problem.kl, -np.inf, epsilon, jac=problem.kl_jac,
                                         hess=optimize.BFGS()),
            optimize.NonlinearConstraint(problem.success_estimate, alpha - SUCCESS_SLACK,
                                         np.inf, jac=problem.success_jac,
                                         hess=optimize.BFGS()),
        ]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                result = optimize.minimize(problem.negative_entropy, start, method='trust-constr',
                                           jac=True, hess=optimize.BFGS(),
                                           constraints=constraints, options=SOLVER_OPTIONS)
        except (ValueError, np.linalg.LinAlgError) as error:
            LOG.warning('DORAEMON entropy step failed (%s); distribution kept', error)
            return None
        return result.x if np.all(np.isfinite(result.x)) else None

    @staticmethod
    def _accept(problem: DoraemonProblem, z: np.ndarray, alpha: float, epsilon: float,
                start_entropy: float) -> bool:
        """Feasible (both constraints, small tolerance) and more entropy than the start."""
        feasible = (problem.kl(z) <= epsilon * (1 + 1e-3)
                    and problem.success_estimate(z) >= alpha - 2 * SUCCESS_SLACK)
        return feasible and problem.distribution(z).entropy() > start_entropy

    def _warn_on_collapse(self) -> None:
        for name in self.distribution.collapsed():
            LOG.warning('DORAEMON: the distribution of %s has collapsed to zero width', name)

    def state_dict(self) -> dict:
        """Beta parameters and the warm-up flag."""
        return {**super().state_dict(), 'a': self.distribution.a.tolist(),
                'b': self.distribution.b.tolist(), 'warmed_up': self.warmed_up}

    def load_state_dict(self, state: dict) -> None:
        """Restore Beta parameters and the warm-up flag."""
        super().load_state_dict(state)
        self.distribution = BetaDistribution(self.box, np.asarray(state['a']),
                                             np.asarray(state['b']))
        self.warmed_up = bool(state['warmed_up'])
