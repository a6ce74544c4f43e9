// Spectral normalisation is for dense layers on vectors.
nn::network! { struct Net { input(4, 6), dense(3, norm = spectral) } }

fn main() {}
