//! Id inputs: one id per sample, a sequence of ids, two embeddings of the same ids.
#![deny(warnings)]

nn::network! { pub struct OneId { embedding(17 -> 4), dense(3) } }
nn::network! {
    pub struct Words { input(6), tokens: embedding(100 -> 8), positions: embedding(100 -> 8) <- input, add(tokens, positions), flatten, dense(2) }
}

fn main() -> Result<(), nn::network::BatchError> {
    let y = OneId::<f32>::seeded(0).forward(&[16])?;
    let z = Words::<f64>::seeded(0).forward(&[1, 2, 3, 99, 0, 2])?;
    assert!(y.iter().all(|v| v.is_finite()) && z.iter().all(|v| v.is_finite()));
    Ok(())
}
