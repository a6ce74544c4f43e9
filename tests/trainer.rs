//! The trainer: seeded, reproducible minibatch training with per-epoch records, validation,
//! accuracy, early stopping, callbacks, and typed errors that keep what was already learned.

use nn::TrainError;
use nn::data::DataError;
use nn::prelude::*;
use nn::train::{Callback, Control, EachEpoch};

nn::network! { struct Regressor { dense(2 -> 8, tanh), dropout(0.1), dense(8 -> 1) } }
nn::network! { struct Classifier { dense(2 -> 16, relu), dense(16 -> 3) } }

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

/// Three classes by angle around the origin: separable, so accuracy can reach 100%.
fn three_classes(count: u32, offset: f64) -> Dataset<f64> {
    let (mut inputs, mut targets) = (Vec::new(), Vec::new());
    for k in 0..count {
        let angle = f64::from(k) * 2.399 + offset;
        let radius = 0.5 + f64::from(k % 7) / 10.0;
        inputs.extend([radius * angle.cos(), radius * angle.sin()]);
        let sector = (angle.rem_euclid(std::f64::consts::TAU) / (std::f64::consts::TAU / 3.0)).floor();
        targets.push(sector.min(2.0));
    }
    Dataset::new(2, 1, inputs, targets).unwrap()
}

fn config(epochs: usize) -> FitConfig {
    FitConfig { epochs, batch_size: 16, shuffle: true, early_stopping: None }
}

fn fit(seed: u64) -> (History, Vec<f64>) {
    let mut trainer =
        Trainer::new(Regressor::<f64>::seeded(1), MeanSquaredError, Sgd::with_learning_rate(0.1))
            .with_seed(seed);
    let history = trainer.fit(&linear_data(), &config(30)).unwrap();
    (history, trainer.network().parameters().to_vec())
}

#[test]
fn fit_returns_one_falling_loss_per_epoch() {
    let (history, _) = fit(0);
    let losses = history.losses();
    assert_eq!(losses.len(), 30);
    assert!(losses[29] < losses[0] / 10.0, "loss {} → {}", losses[0], losses[29]);
    assert!(
        history.epochs.iter().all(|e| e.accuracy.is_none() && e.validation.is_none()),
        "regression: no accuracy"
    );
    assert_eq!(history.epochs[29].epoch, 30);
}

#[test]
fn a_seed_fixes_the_whole_run_and_another_seed_changes_it() {
    let (history, parameters) = fit(7);
    let (again, same) = fit(7);
    assert_eq!(history.losses(), again.losses());
    assert_eq!(parameters, same);
    let (_, other) = fit(8);
    assert_ne!(parameters, other, "another seed shuffles and drops out differently");
}

#[test]
fn classification_reports_accuracy_and_validation() {
    let (train, validation) = (three_classes(300, 0.0), three_classes(90, 0.1));
    let optimizer = Adam::new(AdamConfig { learning_rate: 0.02, ..AdamConfig::default() });
    let mut trainer = Trainer::new(Classifier::<f64>::seeded(3), SoftmaxCrossEntropy, optimizer);
    let history =
        trainer.fit_with(&train, Some(&validation), &config(60), &mut nn::train::NoCallback).unwrap();
    let last = history.epochs.last().unwrap();
    let accuracy = last.validation.unwrap().accuracy.unwrap();
    assert!(accuracy > 0.9, "validation accuracy {accuracy}");
    assert!(last.accuracy.unwrap() > 0.85);
    let evaluation = trainer.evaluate(&validation).unwrap();
    assert_eq!(Some(evaluation), last.validation, "evaluate agrees with the last epoch's validation");
    let outputs = trainer.predict(&validation).unwrap();
    assert_eq!(outputs.len(), 3 * validation.len());
}

#[test]
fn early_stopping_stops_and_restores_the_best_epoch() {
    let (train, validation) = (three_classes(300, 0.0), three_classes(90, 0.1));
    let stopping =
        EarlyStopping { monitor: Monitor::ValidationLoss, patience: 3, min_delta: 0.0, restore_best: true };
    let optimizer = Adam::new(AdamConfig { learning_rate: 0.05, ..AdamConfig::default() });
    let mut trainer = Trainer::new(Classifier::<f64>::seeded(3), SoftmaxCrossEntropy, optimizer);
    let fit_config = FitConfig { early_stopping: Some(stopping), ..config(500) };
    let history =
        trainer.fit_with(&train, Some(&validation), &fit_config, &mut nn::train::NoCallback).unwrap();
    assert!(history.stopped_early, "500 epochs of Adam at 0.05 overfit and stop");
    let best = history
        .epochs
        .iter()
        .min_by(|a, b| a.validation.unwrap().loss.total_cmp(&b.validation.unwrap().loss))
        .unwrap();
    assert_eq!(history.restored_epoch, Some(best.epoch));
    assert_eq!(history.epochs.len(), best.epoch + 3, "stopped after `patience` epochs without improvement");
    let restored = trainer.evaluate(&validation).unwrap();
    assert!((restored.loss - best.validation.unwrap().loss).abs() < 1e-12, "the best parameters are back");
}

#[test]
fn callbacks_see_every_batch_and_can_stop() {
    struct Counter {
        batches: usize,
        epochs: usize,
        ended: bool,
    }
    impl Callback for Counter {
        fn on_batch_end(&mut self, _batch: usize, loss: f64, _accuracy: Option<f64>) {
            assert!(loss.is_finite());
            self.batches += 1;
        }
        fn on_epoch_end(&mut self, record: &EpochRecord) -> nn::train::EpochOutcome {
            self.epochs = record.epoch;
            Ok(if record.epoch == 4 { Control::Stop } else { Control::Continue })
        }
        fn on_train_end(&mut self, history: &History) {
            self.ended = history.stopped_early;
        }
    }
    let mut counter = Counter { batches: 0, epochs: 0, ended: false };
    let mut trainer =
        Trainer::new(Regressor::<f64>::seeded(1), MeanSquaredError, Sgd::with_learning_rate(0.1));
    let mut logged = Vec::new();
    let logger = EachEpoch(|record: &EpochRecord| {
        logged.push(record.loss);
        Control::Continue
    });
    let history = trainer.fit_with(&linear_data(), None, &config(10), &mut (&mut counter, logger)).unwrap();
    assert_eq!(
        (counter.epochs, counter.batches, counter.ended),
        (4, 4 * 7, true),
        "100 samples / 16 = 7 batches"
    );
    assert_eq!(logged, history.losses());
}

#[test]
fn data_that_does_not_fit_the_network_is_refused_before_any_step() {
    let mut trainer =
        Trainer::new(Regressor::<f64>::seeded(1), MeanSquaredError, Sgd::with_learning_rate(0.1));
    let before = trainer.network().clone();
    let wide = Dataset::new(3, 1, vec![0.0; 30], vec![0.0; 10]).unwrap();
    let error = trainer.fit(&wide, &FitConfig::default()).unwrap_err();
    assert!(
        matches!(error, TrainError::Data(DataError::FeatureCount { expected: 2, found: 3, .. })),
        "{error}"
    );
    assert_eq!(error.to_string(), "in-memory data: samples have 3 features, but the network takes 2 inputs");
    let two_targets = Dataset::new(2, 2, vec![0.0; 20], vec![0.0; 20]).unwrap();
    let error = trainer.fit(&two_targets, &FitConfig::default()).unwrap_err();
    assert!(matches!(error, TrainError::TargetWidth { expected: 1, found: 2, .. }), "{error}");
    let error =
        trainer.fit(&linear_data(), &FitConfig { batch_size: 0, ..FitConfig::default() }).unwrap_err();
    assert!(matches!(error, TrainError::ZeroBatchSize));
    let stopping = FitConfig { early_stopping: Some(EarlyStopping::default()), ..FitConfig::default() };
    assert!(matches!(trainer.fit(&linear_data(), &stopping).unwrap_err(), TrainError::NoValidationData));
    assert_eq!(trainer.network(), &before, "nothing was trained");
    assert_eq!(trainer.steps(), 0);
}

#[test]
fn a_label_outside_the_classes_is_refused_before_any_step() {
    let mut data = three_classes(30, 0.0);
    let mut targets = data.targets().to_vec();
    targets[17] = 3.0;
    data = Dataset::new(2, 1, data.inputs().to_vec(), targets).unwrap();
    let mut trainer =
        Trainer::new(Classifier::<f64>::seeded(1), SoftmaxCrossEntropy, Sgd::with_learning_rate(0.1));
    let error = trainer.fit(&data, &FitConfig::default()).unwrap_err();
    assert_eq!(error.to_string(), "sample 17: label 3 is not one of the network's classes 0 to 2");
    assert_eq!(trainer.steps(), 0);
}

#[test]
fn a_ragged_batch_is_a_typed_error() {
    let mut trainer =
        Trainer::new(Regressor::<f64>::seeded(1), MeanSquaredError, Sgd::with_learning_rate(0.1));
    let error = trainer.step(&[1.0, 2.0, 3.0], &[0.0]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "step 0: a batch of 3 values is not a whole number of samples of 2 values each"
    );
    let error = trainer.step(&[1.0, 2.0], &[0.0, 1.0]).unwrap_err();
    assert!(matches!(error, TrainError::Loss { step: 0, .. }), "{error}");
}

#[test]
fn divergence_stops_with_the_step_and_keeps_the_last_finite_parameters() {
    let optimizer = Sgd::with_learning_rate(1e30);
    let mut trainer = Trainer::new(Regressor::<f64>::seeded(1), MeanSquaredError, optimizer);
    let data = linear_data();
    let error = trainer
        .fit(&data, &FitConfig { epochs: 50, batch_size: 100, shuffle: false, early_stopping: None })
        .unwrap_err();
    let TrainError::Diverged { epoch, step, loss } = error else {
        panic!("expected divergence, got {error}")
    };
    assert!(step > 0 && !loss.is_finite(), "step {step}, loss {loss}");
    assert_eq!(trainer.steps(), step, "the failing step was not applied");
    assert!(trainer.network().parameters().iter().all(|p| p.is_finite()), "no NaN was written");
    // One batch per epoch: the failing step is the first of epoch `step + 1`.
    assert_eq!(epoch as u64, step + 1);
    assert!(error.to_string().starts_with(&format!("training diverged in epoch {epoch}, at step {step}")));
}

nn::network! { struct Chain { dense(1 -> 1), dense(1 -> 1) } }

/// A step of `optimizer` on a `Chain` whose loss is finite but whose gradient overflows: the
/// error names the tensor, the step is not taken, and a gentler step then goes through.
fn an_overflowing_gradient_is_dropped<O: Optimizer<f64>>(optimizer: O) {
    // y = w₂·w₁·x = 1e300 · 1e-310 · 1e10 = 1: the loss is 1, but ∂L/∂w₁ = 2·w₂·x = 2e310
    // overflows.
    let mut network = Chain::<f64>::seeded(0);
    network.parameters_mut().copy_from_slice(&[1e-310, 0.0, 1e300, 0.0]);
    let before = network.parameters().to_vec();
    let mut trainer = Trainer::new(network, MeanSquaredError, optimizer);
    let error = trainer.step(&[1e10], &[0.0]).unwrap_err();
    let TrainError::NonFiniteGradient { epoch, step, tensor } = error else {
        panic!("expected a non-finite gradient, got {error}")
    };
    assert_eq!((epoch, step, tensor), (1, 0, "0.weight"));
    assert_eq!(trainer.network().parameters(), &before[..], "the step was not applied");
    assert_eq!(trainer.steps(), 0);
    // The optimizer started afresh, so no NaN of the dropped step lingers in its state.
    let loss = trainer.step(&[1e-20], &[0.0]).unwrap();
    assert!(loss.is_finite() && trainer.network().parameters().iter().all(|p| p.is_finite()));
}

#[test]
fn a_gradient_that_overflows_under_a_finite_loss_stops_training_naming_the_tensor() {
    an_overflowing_gradient_is_dropped(Sgd::with_learning_rate(0.1));
    an_overflowing_gradient_is_dropped(Sgd::new(SgdConfig { momentum: 0.9, ..SgdConfig::default() }));
    an_overflowing_gradient_is_dropped(Adam::new(AdamConfig { amsgrad: true, ..AdamConfig::default() }));
    an_overflowing_gradient_is_dropped(AdamW::new(AdamConfig::default()));
    an_overflowing_gradient_is_dropped(RmsProp::new(RmsPropConfig {
        momentum: 0.5,
        ..RmsPropConfig::default()
    }));
    // Rprop moves by the gradient's sign alone, so it checks the gradient itself.
    an_overflowing_gradient_is_dropped(Rprop::new(RpropConfig::default()));
}

/// A step of `optimizer` on a `Chain` whose loss and gradients are finite, from parameters
/// where the update overflows: the error names the tensor and the step is not taken.
fn an_overflowing_update_is_dropped(optimizer: impl Optimizer<f64>, expected: &str) {
    // y = w₂·w₁·x = 1e-300 · 1e300 · 1 = 1, so the loss is 1 and ∂L/∂w₂ = 2·w₁·x = 2e300.
    let mut network = Chain::<f64>::seeded(0);
    network.parameters_mut().copy_from_slice(&[1e300, 0.0, 1e-300, 0.0]);
    let before = network.parameters().to_vec();
    let mut trainer = Trainer::new(network, MeanSquaredError, optimizer);
    let error = trainer.step(&[1.0], &[0.0]).unwrap_err();
    let TrainError::NonFiniteUpdate { epoch, step, tensor } = error else {
        panic!("expected a non-finite update, got {error}")
    };
    assert_eq!((epoch, step, tensor), (1, 0, expected));
    assert_eq!(trainer.network().parameters(), &before[..], "the step was not applied");
    assert_eq!(trainer.steps(), 0);
}

#[test]
fn an_update_that_overflows_from_finite_gradients_keeps_the_last_finite_parameters() {
    // w₂ − 1e10 · 2e300 overflows; the other three stay finite.
    an_overflowing_update_is_dropped(Sgd::with_learning_rate(1e10), "1.weight");
    let momentum = SgdConfig { learning_rate: 1e10, momentum: 0.9, nesterov: true, ..SgdConfig::default() };
    an_overflowing_update_is_dropped(Sgd::new(momentum), "1.weight");
    // Adam moves every parameter by about η/(1 − β₁) = 1e309: all overflow, the first is named.
    let adam = AdamConfig { learning_rate: 1e308, ..AdamConfig::default() };
    an_overflowing_update_is_dropped(Adam::new(adam), "0.weight");
    an_overflowing_update_is_dropped(AdamW::new(adam), "0.weight");
    let amsgrad = AdamConfig { amsgrad: true, ..adam };
    an_overflowing_update_is_dropped(Adam::new(amsgrad), "0.weight");
    // Centred RMSprop: w₁'s g² underflows, so it moves by η·g/ε = 2e16 (finite); w₂'s g²
    // overflows, and √(∞ − ∞) is NaN.
    let rmsprop = RmsPropConfig { learning_rate: 1e308, centered: true, ..RmsPropConfig::default() };
    an_overflowing_update_is_dropped(RmsProp::new(rmsprop), "1.weight");
    // (Rprop cannot overflow: its steps are bounded by Δmax = 50.)
}

/// Unless asked, a trainer keeps no gradients (its optimizer writes the next parameters over
/// them); asked, it keeps each step's, those of a backward pass on the same batch, and steps
/// exactly as without.
#[test]
fn a_trainer_keeps_its_gradients_only_when_asked() {
    let network = Classifier::<f64>::seeded(2);
    let (inputs, targets) = ([0.5, -1.0, 1.5, 0.25, -0.75, 1.0], [0.0, 2.0, 1.0]);
    let mut workspace = <Classifier<f64> as Network<f64>>::Workspace::default();
    let mut probe = network.clone();
    probe.forward_train(&inputs, &mut workspace, &mut nn::init::seeded_rng(0)).unwrap();
    let (output, output_gradient) = workspace.output_and_gradient();
    SoftmaxCrossEntropy.evaluate(output, &targets, output_gradient, 3).unwrap();
    let mut expected = vec![f64::NAN; Classifier::<f64>::PARAMETERS];
    probe.backward(&mut workspace, &mut expected);

    let optimizer = || Sgd::new(SgdConfig { learning_rate: 0.1, momentum: 0.9, ..SgdConfig::default() });
    let mut plain = Trainer::new(network.clone(), SoftmaxCrossEntropy, optimizer());
    let mut keeping = Trainer::new(network, SoftmaxCrossEntropy, optimizer()).keeping_gradients();
    for step in 0..3 {
        plain.step(&inputs, &targets).unwrap();
        keeping.step(&inputs, &targets).unwrap();
        assert!(plain.gradients().is_none());
        if step == 0 {
            assert_eq!(keeping.gradients(), Some(&expected[..]));
        }
        assert_eq!(plain.network().parameters(), keeping.network().parameters(), "step {step}");
    }
}

nn::network! { struct Tiny { dense(2 -> 3, sigmoid), dense(3 -> 1, sigmoid) } }

/// Three steps of `optimizer` on `Tiny` (13 parameters, so its steps on one sample and on
/// four hand the update their gradients as a local array, `Optimizer::step_from`; on
/// three, in the buffer), clipping by norm and keeping the gradients, against the same
/// steps through a gradient buffer (`Optimizer::step`): bit for bit the same kept gradients
/// and parameters.
fn a_tiny_step_updates_as_through_the_buffer(optimizer: &(impl Optimizer<f64> + Clone), name: &str) {
    let (inputs, targets) = ([0.5, -1.5, 1.0, 0.25, -0.75, 2.0, 0.0, -1.0], [1.0, 0.0, 0.5, 1.0]);
    for samples in [1, 3, 4] {
        let (input, target) = (&inputs[..2 * samples], &targets[..samples]);
        tiny_steps(optimizer.clone(), (input, target), &format!("{name} at {samples} samples"));
    }
}

/// The three steps of [`a_tiny_step_updates_as_through_the_buffer`] on one batch.
fn tiny_steps(optimizer: impl Optimizer<f64> + Clone, (input, target): (&[f64], &[f64]), name: &str) {
    let clip = Clip::GlobalNorm(0.05);
    let mut trainer = Trainer::new(Tiny::<f64>::seeded(4), MeanSquaredError, optimizer.clone())
        .with_clipping(clip)
        .keeping_gradients();
    let (mut network, mut optimizer) = (Tiny::<f64>::seeded(4), optimizer);
    optimizer.prepare(Tiny::<f64>::PARAMETERS);
    let mut workspace = <Tiny<f64> as Network<f64>>::Workspace::default();
    for step in 0..3 {
        trainer.step(input, target).unwrap();
        network.forward_train(input, &mut workspace, &mut nn::init::seeded_rng(0)).unwrap();
        let (output, output_gradient) = workspace.output_and_gradient();
        MeanSquaredError.evaluate(output, target, output_gradient, 1).unwrap();
        let mut values = vec![f64::NAN; Tiny::<f64>::PARAMETERS];
        network.backward(&mut workspace, &mut values);
        clip.apply(&mut values);
        assert_eq!(trainer.gradients(), Some(&values[..]), "{name}, step {step}: the gradients kept");
        assert!(optimizer.step(network.parameters(), &mut values));
        network.parameters_mut().copy_from_slice(&values);
        assert_eq!(trainer.network().parameters(), network.parameters(), "{name}, step {step}");
    }
}

#[test]
fn a_tiny_networks_stack_steps_update_as_through_the_buffer() {
    a_tiny_step_updates_as_through_the_buffer(&Sgd::with_learning_rate(0.5), "SGD");
    let momentum =
        SgdConfig { learning_rate: 0.5, momentum: 0.9, weight_decay: 0.01, ..SgdConfig::default() };
    a_tiny_step_updates_as_through_the_buffer(&Sgd::new(momentum), "SGD with momentum");
    a_tiny_step_updates_as_through_the_buffer(&Adam::new(AdamConfig::default()), "Adam");
    a_tiny_step_updates_as_through_the_buffer(&RmsProp::new(RmsPropConfig::default()), "RMSprop");
    a_tiny_step_updates_as_through_the_buffer(&Rprop::new(RpropConfig::default()), "Rprop");
}

/// Kept, a failed step's gradients are there to look at, the one that overflowed with them.
#[test]
fn a_failed_steps_gradients_are_kept_when_asked() {
    let mut network = Chain::<f64>::seeded(0);
    network.parameters_mut().copy_from_slice(&[1e-310, 0.0, 1e300, 0.0]);
    let mut trainer =
        Trainer::new(network, MeanSquaredError, Sgd::with_learning_rate(0.1)).keeping_gradients();
    let error = trainer.step(&[1e10], &[0.0]).unwrap_err();
    assert!(matches!(error, TrainError::NonFiniteGradient { tensor: "0.weight", .. }), "{error}");
    let gradients = trainer.gradients().expect("kept");
    assert!(!gradients[0].is_finite() && gradients[1..].iter().all(|g| g.is_finite()), "{gradients:?}");
}

/// A schedule gone wrong: the rate it gives from the second epoch is not a number.
struct Broken;

impl nn::schedule::Schedule for Broken {
    fn learning_rate(&mut self, base: f64, epoch: usize, _metric: Option<f64>) -> f64 {
        if epoch == 0 { base } else { f64::NAN }
    }
}

#[test]
fn a_schedule_that_gives_a_non_finite_rate_stops_training_naming_the_epoch() {
    let mut trainer =
        Trainer::new(Regressor::<f64>::seeded(1), MeanSquaredError, Sgd::with_learning_rate(0.01))
            .with_schedule(Broken);
    let config = FitConfig { epochs: 5, batch_size: 50, shuffle: false, early_stopping: None };
    let error = trainer.fit(&linear_data(), &config).unwrap_err();
    assert!(matches!(error, TrainError::LearningRate { epoch: 2, .. }), "{error}");
    assert!(error.to_string().starts_with("epoch 2: the schedule gives a learning rate of NaN"), "{error}");
    assert!((trainer.optimizer().learning_rate() - 0.01).abs() < 1e-18, "the rate was not applied");
}

#[test]
fn class_indices_are_integers_and_give_the_same_steps() {
    let inputs = [0.1, 0.2, 0.3, 0.4, -0.1, 0.5, 0.2, 0.0];
    let mut as_floats =
        Trainer::new(Classifier::<f64>::seeded(3), SoftmaxCrossEntropy, Sgd::with_learning_rate(0.1));
    let mut as_integers =
        Trainer::new(Classifier::<f64>::seeded(3), SoftmaxCrossEntropy, Sgd::with_learning_rate(0.1));
    for _ in 0..3 {
        let a = as_floats.step(&inputs, &[2.0, 0.0, 1.0, 1.0]).unwrap();
        let b = as_integers.step(&inputs, &[2, 0, 1, 1]).unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
    }
    assert_eq!(as_floats.network(), as_integers.network());
    let labels: Vec<u32> = vec![1, 2, 0, 0];
    assert!(as_integers.step(&inputs, &labels).is_ok());
    let data = Dataset::<f64>::classification(2, inputs.to_vec(), &[2, 0, 1, 1]).unwrap();
    assert_eq!(data.targets(), [2.0, 0.0, 1.0, 1.0]);
}

nn::network! { struct TwoChannelSignal { input(2, 3), conv1d(1, kernel = 2), flatten, dense(1) } }

#[test]
fn images_of_another_shape_are_refused_though_their_size_agrees() {
    let mut trainer =
        Trainer::new(TwoChannelSignal::<f64>::seeded(1), MeanSquaredError, Sgd::with_learning_rate(0.1));
    let flat = Dataset::new(6, 1, vec![0.5; 60], vec![0.0; 10]).unwrap();
    assert!(trainer.fit(&flat, &config(1)).is_ok(), "a flat dataset of 6 features feeds a [2, 3] input");
    let images = flat.clone().with_shape(&[1, 2, 3]).unwrap();
    let error = trainer.fit(&images, &config(1)).unwrap_err();
    assert!(matches!(error, TrainError::Data(DataError::SampleShape { .. })), "{error}");
    assert_eq!(error.to_string(), "in-memory data: samples are [1, 2, 3], but the network's input is [2, 3]");
    let signals = flat.clone().with_shape(&[2, 3]).unwrap();
    assert!(trainer.fit(&signals, &config(1)).is_ok());
    let error = flat.with_shape(&[2, 2]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "in-memory data: a sample shape of [2, 2] holds 4 values, but samples have 6 features"
    );
}

#[test]
fn a_callback_that_fails_stops_fit_cleanly_with_that_epochs_parameters() {
    let config = FitConfig { epochs: 5, batch_size: 50, shuffle: false, early_stopping: None };
    let mut ended = false;
    let mut failing = (
        EachEpoch(|record: &EpochRecord| -> nn::train::EpochOutcome {
            if record.epoch == 2 {
                Err("cannot write checkpoints/epoch-2.safetensors".into())
            } else {
                Ok(Control::Continue)
            }
        }),
        EndWatcher(&mut ended),
    );
    let mut trainer =
        Trainer::new(Regressor::<f64>::seeded(3), MeanSquaredError, Sgd::with_learning_rate(0.05));
    let error = trainer.fit_with(&linear_data(), None, &config, &mut failing).unwrap_err();
    assert!(matches!(error, TrainError::Callback { epoch: 2, .. }), "{error}");
    assert!(error.to_string().contains("checkpoints/epoch-2.safetensors"), "{error}");
    assert!(ended, "the callbacks heard that training ended");
    // The network holds exactly the parameters of two epochs.
    let mut two = Trainer::new(Regressor::<f64>::seeded(3), MeanSquaredError, Sgd::with_learning_rate(0.05));
    two.fit(&linear_data(), &FitConfig { epochs: 2, ..config }).unwrap();
    assert_eq!(trainer.network().parameters(), two.network().parameters());
}

/// Records that training ended.
struct EndWatcher<'a>(&'a mut bool);

impl Callback for EndWatcher<'_> {
    fn on_train_end(&mut self, _history: &History) {
        *self.0 = true;
    }
}
