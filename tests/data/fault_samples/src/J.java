public class J { static long[] grow(int n) { long[] a = new long[n]; for (int i = 0; i < n; i += 512) a[i] = i; return a; }
  public static void main(String[] x) { long s = 0; for (int k = 0; k < 20; k++) s += grow(4_000_000).length; System.out.println(s); } }
