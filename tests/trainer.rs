//! The trainer: seeded, reproducible minibatch training with per-epoch losses, and typed
//! errors that keep what was already learned.

use nn::TrainError;
use nn::prelude::*;

nn::network! { struct Regressor { dense(2 -> 8, tanh), dropout(0.1), dense(8 -> 1) } }

/// `y = x1 − 2·x2` on a grid, one sample per column.
fn linear_data() -> Dataset<f64> {
    let mut inputs = Vec::new();
    let mut targets = Vec::new();
    for i in 0..10 {
        for j in 0..10 {
            let (x1, x2) = (f64::from(i) / 10.0, f64::from(j) / 10.0);
            inputs.extend([x1, x2]);
            targets.push(x1 - 2.0 * x2);
        }
    }
    Dataset::new(2, 1, inputs, targets).unwrap()
}

fn fit(seed: u64, shuffle: bool) -> (History, Vec<f64>) {
    let mut trainer =
        Trainer::new(Regressor::<f64>::seeded(1), MeanSquaredError, Sgd::with_learning_rate(0.1))
            .with_seed(seed);
    let config = FitConfig { epochs: 30, batch_size: 16, shuffle };
    let history = trainer.fit(&linear_data(), &config).unwrap();
    (history, trainer.network().parameters().to_vec())
}

#[test]
fn fit_returns_one_falling_loss_per_epoch() {
    let (history, _) = fit(0, true);
    assert_eq!(history.loss.len(), 30);
    let (first, last) = (history.loss[0], history.loss[29]);
    assert!(last < first / 10.0, "loss {first} → {last}");
}

#[test]
fn a_seed_fixes_the_whole_run_and_another_seed_changes_it() {
    let (history, parameters) = fit(7, true);
    let (again, same) = fit(7, true);
    assert_eq!(history, again);
    assert_eq!(parameters, same);
    let (_, other) = fit(8, true);
    assert_ne!(parameters, other, "another seed shuffles and drops out differently");
}

#[test]
fn data_that_does_not_fit_the_network_is_refused_before_any_step() {
    let mut trainer =
        Trainer::new(Regressor::<f64>::seeded(1), MeanSquaredError, Sgd::with_learning_rate(0.1));
    let before = trainer.network().clone();
    let wide = Dataset::new(3, 1, vec![0.0; 30], vec![0.0; 10]).unwrap();
    let error = trainer.fit(&wide, &FitConfig::default()).unwrap_err();
    assert_eq!(error, TrainError::InputWidth { expected: 2, found: 3 });
    assert_eq!(error.to_string(), "the network takes 2 inputs per sample, but the data has 3");
    let two_targets = Dataset::new(2, 2, vec![0.0; 20], vec![0.0; 20]).unwrap();
    let error = trainer.fit(&two_targets, &FitConfig::default()).unwrap_err();
    assert_eq!(error, TrainError::TargetWidth { expected: 1, found: 2 });
    let error =
        trainer.fit(&linear_data(), &FitConfig { batch_size: 0, ..FitConfig::default() }).unwrap_err();
    assert_eq!(error, TrainError::ZeroBatchSize);
    assert_eq!(trainer.network(), &before, "nothing was trained");
    assert_eq!(trainer.steps(), 0);
}

#[test]
fn a_ragged_batch_is_a_typed_error() {
    let mut trainer =
        Trainer::new(Regressor::<f64>::seeded(1), MeanSquaredError, Sgd::with_learning_rate(0.1));
    let error = trainer.step(&[1.0, 2.0, 3.0], &[0.0]).unwrap_err();
    assert_eq!(error.to_string(), "a batch of 3 values is not a whole number of samples of 2 values each");
    let error = trainer.step(&[1.0, 2.0], &[0.0, 1.0]).unwrap_err();
    assert!(matches!(error, TrainError::Loss { step: 0, .. }), "{error}");
}

#[test]
fn divergence_stops_with_the_step_and_keeps_the_last_finite_parameters() {
    let optimizer = Sgd::with_learning_rate(1e30);
    let mut trainer = Trainer::new(Regressor::<f64>::seeded(1), MeanSquaredError, optimizer);
    let data = linear_data();
    let error = trainer.fit(&data, &FitConfig { epochs: 50, batch_size: 100, shuffle: false }).unwrap_err();
    let TrainError::Diverged { step, loss } = error else { panic!("expected divergence, got {error}") };
    assert!(step > 0 && !loss.is_finite(), "step {step}, loss {loss}");
    assert_eq!(trainer.steps(), step, "the failing step was not applied");
    assert!(trainer.network().parameters().iter().all(|p| p.is_finite()), "no NaN was written");
    assert!(error.to_string().starts_with(&format!("training diverged at step {step}")));
}
