#[inline(never)]
fn touch(v: &mut Vec<u8>) { for i in (0..v.len()).step_by(4096) { v[i] = 1; } }
struct Grid<T> { cells: Vec<T> }
impl<T: Clone + Default> Grid<T> { #[inline(never)] fn new(n: usize) -> Self { Grid { cells: vec![T::default(); n] } } }
fn main() { let mut v = vec![0u8; 32 * 4096]; touch(&mut v); let g: Grid<u64> = Grid::new(16 * 512); let s: Vec<String> = (0..500).map(|i| format!("{i}")).collect(); println!("{}", s.len() + v[0] as usize + g.cells.len()); }
