"""Reconstruction engine on tiny maps: loss, convergence, seeds, ensembles, resume, 2D -> 3D, bad input."""
import numpy as np
import pytest

import mcrpy_poly
from mcrpy_poly import synthetic
from mcrpy_poly.errors import InputError, MemoryBudgetError, ShapeError
from mcrpy_poly.orientation.quaternion import misorientation_angle, random_uniform, rotation_angle
from mcrpy_poly.reconstruction import Reconstruction, reconstruct
from mcrpy_poly.reconstruction.checkpoint import load_checkpoint
from mcrpy_poly.reconstruction.loss import DEFAULT_WEIGHTS, DescriptorLoss

NAMES = ("correlations", "variogram", "mean_variation")
#: Largest rotation angle in the cubic fundamental zone (a rotation by 62.8 deg about <111>-ish
#: directions, i.e. 2 * atan(sqrt(2) - 1) * ... ; analytically 62.80 deg).
CUBIC_FZ_MAX_DEG = 62.81


@pytest.fixture(scope="module")
def tiny():
    omap = synthetic.voronoi((16, 16), 6, seed=3)
    return omap, mcrpy_poly.characterize(omap, descriptors=NAMES + ("texture",), limit_to=4)


def test_loss_is_weighted_squared_relative_error(tiny):
    omap, char = tiny
    weights = {"correlations": 1.0, "variogram": 2.0, "mean_variation": 0.5}
    loss = DescriptorLoss(char.basis, omap.shape, [(None, {n: char[n] for n in NAMES})], weights,
                          char.limit_to, char.pairs)
    assert loss(omap.quaternions) == pytest.approx(0.0, abs=1e-20)
    other = omap.replace(quaternions=random_uniform(omap.shape, 5))
    current = mcrpy_poly.characterize(other, descriptors=NAMES, limit_to=4)
    expected = sum(w * np.sum((current[n] - char[n]) ** 2) / np.sum(char[n] ** 2)
                   for n, w in weights.items() if n != "variogram")
    # The variogram is normalised channel by channel (mean over channels of squared relative errors).
    expected += 2.0 * np.mean([np.sum((c - t) ** 2) / np.sum(t ** 2)
                               for c, t in zip(current["variogram"], char["variogram"])])
    assert loss(other.quaternions) == pytest.approx(expected, rel=1e-10)


def test_loss_decreases_and_output_is_in_the_fundamental_zone(tiny):
    _, char = tiny
    result = reconstruct(char, (16, 16), max_iter=30, levels=1, progress=False, grain_stage=False)
    assert isinstance(result, Reconstruction)
    assert len(result.loss_history) == 30
    assert result.final_loss < 0.2 * result.initial_loss
    assert result.final_loss == pytest.approx(min(result.loss_history))
    q = result.orientations.quaternions
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-12)
    assert np.degrees(rotation_angle(q)).max() <= CUBIC_FZ_MAX_DEG
    assert set(result.relative_errors) == set(NAMES) | {"texture"}


def test_grain_stage_gives_uniform_grains_within_the_budget(tiny):
    _, char = tiny
    result = reconstruct(char, (16, 16), max_iter=40, levels=1, progress=False)
    assert len(result.loss_history) == 40 and result.level_starts == [0, 36]  # 10 % of the budget polishes
    grains = result.grains
    assert grains is not None and grains.labels.shape == (16, 16) and grains.labels.min() == 0
    q = result.orientations.quaternions.reshape(-1, 4)
    ops = result.orientations.symmetry.quaternions
    within = misorientation_angle(q, grains.orientations[grains.labels.ravel()], ops)
    # every voxel holds its grain's orientation (arccos near 1 resolves angles of about 1e-6 degrees in float64)
    assert np.degrees(within).max() < 1e-4
    assert np.all(grains.sizes >= 5)  # no speck survives
    assert result.final_loss == pytest.approx(DescriptorLoss(
        char.basis, (16, 16), [(None, {n: char[n] for n in char.descriptors})], DEFAULT_WEIGHTS,
        char.limit_to, char.pairs)(result.orientations.quaternions), rel=1e-9)


def test_multigrid_on_a_shape_that_does_not_divide(tiny):
    omap, _ = tiny
    char = mcrpy_poly.characterize(omap, descriptors=NAMES, limit_to={"correlations": 8, "variogram": 3})
    result = reconstruct(char, (17, 18), max_iter=30, levels=2, progress=False, grain_stage=False)
    assert result.orientations.shape == (17, 18)
    assert result.level_starts == [0, 9]  # 30 % on the coarse level
    assert result.final_loss < 0.2 * result.initial_loss


def test_hexagonal_reconstruction_fits_the_c_axis_degrees_first():
    omap = synthetic.voronoi((16, 16), 5, symmetry="6/mmm", seed=4)
    char = mcrpy_poly.characterize(omap, descriptors=NAMES, limit_to=4)
    assert char.basis.n_terms == 27
    result = reconstruct(char, (16, 16), max_iter=40, levels=1, progress=False, grain_stage=False)
    assert result.settings["level_channels"] == [5, 27] and result.settings["level_iterations"] == [20, 20]
    assert len(result.loss_history) == 40 and result.final_loss < 0.5 * result.initial_loss
    plain = reconstruct(char, (16, 16), max_iter=40, levels=1, degree_continuation=False, progress=False,
                        grain_stage=False)
    assert plain.settings["level_channels"] == [27]
    cubic = reconstruct(mcrpy_poly.characterize(synthetic.voronoi((16, 16), 5), descriptors=NAMES, limit_to=4),
                        (16, 16), max_iter=5, levels=1, progress=False, grain_stage=False)
    assert cubic.settings["level_channels"] == [9]  # N = 8 alone fixes cubic orientations


def test_seeds_reproduce_and_differ(tiny):
    _, char = tiny
    runs = [reconstruct(char, (16, 16), max_iter=6, levels=1, seed=s, progress=False, grain_stage=False)
            for s in (3, 3, 4)]
    # Equal up to the round-off of TensorFlow's multi-threaded reductions.
    np.testing.assert_allclose(runs[0].orientations.quaternions, runs[1].orientations.quaternions, atol=1e-9)
    np.testing.assert_allclose(runs[0].loss_history, runs[1].loss_history, rtol=1e-9)
    assert not np.allclose(runs[0].orientations.quaternions, runs[2].orientations.quaternions)


@pytest.mark.slow
def test_ensemble_keeps_the_lowest_final_loss(tiny):
    _, char = tiny
    ensemble = reconstruct(char, (16, 16), max_iter=8, levels=1, seeds=3, seed=10, progress=False, grain_stage=False)
    singles = [reconstruct(char, (16, 16), max_iter=8, levels=1, seed=10 + k, progress=False,
                           grain_stage=False).final_loss
               for k in range(3)]
    np.testing.assert_allclose(ensemble.ensemble_losses, singles, rtol=1e-8)
    assert ensemble.final_loss == pytest.approx(min(singles), rel=1e-8)


def test_resume_continues_from_the_checkpoint(tiny, tmp_path):
    _, char = tiny
    path = tmp_path / "ckpt.npz"

    def stop_at_13(evaluation, loss):
        if evaluation == 13:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reconstruct(char, (16, 16), max_iter=24, levels=1, checkpoint=path, checkpoint_every=5,
                    callback=stop_at_13, progress=False, grain_stage=False)
    saved = load_checkpoint(path)
    assert len(saved.history) == 10 and saved.level_done == 10
    seen = []
    resumed = reconstruct(char, (16, 16), max_iter=24, levels=1, checkpoint=path, checkpoint_every=5, resume=True,
                          callback=lambda e, loss: seen.append((e, loss)), progress=False, grain_stage=False)
    assert len(resumed.loss_history) == 24
    np.testing.assert_array_equal(resumed.loss_history[:10], saved.history)
    assert seen[0][0] == 11  # the count goes on
    # The first resumed evaluation is at the checkpointed state (independent loss evaluation).
    loss = DescriptorLoss(char.basis, (16, 16), [(None, {n: char[n] for n in resumed.settings["descriptors"]})],
                          resumed.settings["weights"], char.limit_to, char.pairs)
    assert seen[0][1] == pytest.approx(loss(saved.state), rel=1e-12)
    assert resumed.final_loss < saved.history[0]
    with pytest.raises(InputError, match="checkpoint was written with"):
        reconstruct(char, (16, 16), max_iter=30, levels=1, checkpoint=path, resume=True, progress=False,
                    grain_stage=False)


def test_2d_to_3d_with_per_axis_targets(tiny):
    omap, char = tiny
    other = mcrpy_poly.characterize(synthetic.voronoi((16, 16), 9, seed=4), descriptors=NAMES, limit_to=4)
    result = reconstruct([char, other, char], (8, 8, 8), descriptors=("correlations", "mean_variation"),
                         max_iter=12, progress=False, grain_stage=False)
    assert result.settings["mode"] == "2D->3D"
    assert result.orientations.shape == (8, 8, 8)
    assert result.final_loss < 0.5 * result.initial_loss


def test_bad_input_is_refused_before_allocation(tiny):
    _, char = tiny
    with pytest.raises(ShapeError, match="window"):
        reconstruct(char, (6, 6), progress=False)
    with pytest.raises(MemoryBudgetError, match="GiB"):
        reconstruct(char, (4096, 4096, 4096), progress=False)
    with pytest.raises(InputError, match="initial"):
        reconstruct(char, (16, 16), initial=random_uniform((16, 16), 0), seeds=2, progress=False)
    with pytest.raises(InputError, match="optimizer"):
        reconstruct(char, (16, 16), optimizer="newton", progress=False)
    with pytest.raises(InputError, match="weights"):
        reconstruct(char, (16, 16), weights=[1.0], progress=False)
    with pytest.raises(InputError, match="no texture2|no "):
        reconstruct(mcrpy_poly.characterize(synthetic.voronoi((16, 16), 6), descriptors=("texture",)), (16, 16),
                    descriptors=("correlations",), progress=False, grain_stage=False)


@pytest.mark.parametrize("optimizer", ["tnc", "adam", "sgd", pytest.param("tfp-lbfgs", marks=pytest.mark.slow)])
def test_other_optimizers_reduce_the_loss(tiny, optimizer):
    _, char = tiny
    options = {"chunk": 4} if optimizer == "tfp-lbfgs" else None  # several chunks, each continuing the last
    result = reconstruct(char, (16, 16), descriptors=("correlations",), max_iter=15, levels=1,
                         optimizer=optimizer, optimizer_options=options, progress=False, grain_stage=False)
    assert result.final_loss < result.initial_loss
    assert len(result.loss_history) <= 15 + (5 if optimizer == "tfp-lbfgs" else 0)


@pytest.mark.slow
def test_mcrpy_route_gives_a_reconstruction(tiny):
    from mcrpy_poly.reconstruction.mcrpy_route import reconstruct_with_mcrpy

    omap, _ = tiny
    result = reconstruct_with_mcrpy(omap, (16, 16), descriptor_types=("SHSHCorrelations", "MeanVariation"),
                                    limit_to=4, max_iter=10, use_multigrid=False)
    assert isinstance(result, Reconstruction)
    assert result.orientations.shape == (16, 16)
    assert result.final_loss < result.initial_loss
