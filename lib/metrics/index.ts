/** MATLAB-compatible bicubic resize and the SR metrics (PSNR, SSIM on BT.601 Y) with their result type. */
export * from './resize';
export * from './color';
export * from './psnr';
export * from './ssim';
export * from './result';
export * from './evaluate';
