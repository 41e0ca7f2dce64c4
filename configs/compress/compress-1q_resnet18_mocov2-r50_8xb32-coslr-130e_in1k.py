# CompRess-1q: as CompRess-2q, but the student's similarities are taken over
# the teacher's own bank, so there is no student bank and no momentum
# encoder.
_base_ = './compress-2q_resnet18_mocov2-r50_8xb32-coslr-130e_in1k.py'

model = dict(variant='1q', momentum=None)
