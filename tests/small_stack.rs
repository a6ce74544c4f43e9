//! Large layers live on the heap: a `dense(784 -> 512)` network (1.6 MB of f32 parameters,
//! 3.2 MB in f64) is built, trained for a step and run on a thread with a 2 MiB stack.

use nn::prelude::*;

nn::network! { struct Mnistish { dense(784 -> 512, relu), dropout(0.2), dense(512 -> 10) } }

fn build_train_and_run<T: nn::Real>() {
    let net = Mnistish::<T>::seeded(11);
    let batch = 8;
    let inputs: Vec<T> = (0..784 * batch).map(|k| T::from_float((k % 255) as f64 / 255.0)).collect();
    let targets: Vec<T> = (0..10 * batch).map(|k| T::from_float(f64::from(u8::from(k % 11 == 0)))).collect();
    let mut trainer = Trainer::new(net, MeanSquaredError, Sgd::with_learning_rate(0.01));
    let before = trainer.step(&inputs, &targets).unwrap();
    let after = trainer.step(&inputs, &targets).unwrap();
    assert!(after < before, "one step of SGD lowers the loss on its own batch: {before} → {after}");
    let x = SVector::<T, 784>::from_fn(|i, _| inputs[i]);
    let y = trainer.network().forward(&x);
    assert!(y.iter().all(|&v| v.is_finite()));
    let batch_output =
        trainer.network().forward_batch(&OMatrix::<T, Const<784>, Dyn>::from_column_slice(&inputs));
    assert_eq!(batch_output.ncols(), batch);
}

#[test]
fn a_784_to_512_network_trains_on_a_2_mib_stack() {
    for job in [build_train_and_run::<f32> as fn(), build_train_and_run::<f64>] {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(job)
            .unwrap()
            .join()
            .expect("no stack overflow");
    }
}
