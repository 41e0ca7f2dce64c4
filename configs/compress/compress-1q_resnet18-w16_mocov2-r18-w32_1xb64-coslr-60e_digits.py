# CompRess-1q on the digits demo: as the 2q digits config, with the
# student's similarities taken over the teacher's own bank (no student bank,
# no momentum encoder).
_base_ = './compress-2q_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py'

model = dict(variant='1q', momentum=None)
