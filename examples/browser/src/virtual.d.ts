declare module 'virtual:mnist-digits' {
  interface Part {
    readonly count: number;
    /** 8-bit pixels, 784 per digit, base64. */
    readonly pixels: string;
    /** One byte per digit: its class, base64. */
    readonly labels: string;
  }
  const digits: { readonly train: Part; readonly validation: Part };
  export default digits;
}
