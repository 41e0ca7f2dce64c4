from .frozen_teacher import FrozenTeacher, TeacherCheckpointError

__all__ = ['FrozenTeacher', 'TeacherCheckpointError']
