nn::network! { struct Net { input(8), dense(4), global_avg_pool } }

fn main() {}
